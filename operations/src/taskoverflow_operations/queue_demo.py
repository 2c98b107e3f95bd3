"""`queue-demo`: send 100 numbered messages to an SQS queue, or receive them, to see standard vs FIFO.

Send to the standard queue and the messages arrive in roughly the order sent, sometimes not;
send to the `.fifo` queue and they arrive in exactly that order. Run two receivers on one queue
to see each message go to only one of them.

The FIFO demo queue has content-based deduplication: SQS drops a body it already took in the
last 5 minutes, so a second identical send delivers nothing (and two clients sending the same
bodies collide). `--prepend` changes the bodies so they count as new messages.

  queue-demo --create-demo-queues                        # csse6400_prac and csse6400_prac.fifo
  queue-demo --name csse6400_prac.fifo --receive         # in one terminal
  queue-demo --name csse6400_prac.fifo --client-name "Client 1"
  queue-demo --name csse6400_prac.fifo --client-name "Client 2" --prepend "Again "

AWS settings come from the environment (`AWS_ENDPOINT_URL` for the emulator, nothing on AWS).
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

import structlog
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError
from tqdm import tqdm

from taskoverflow_operations.arguments import non_negative_int, positive_float, positive_int, run_command
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.sqs_batches import SQS_BATCH_LIMIT, delete_in_batches
from taskoverflow_shared.topology import fifo_name, is_fifo

STANDARD_DEMO_QUEUE = "csse6400_prac"
FIFO_DEMO_QUEUE = fifo_name(STANDARD_DEMO_QUEUE)
DEMO_QUEUE_ATTRIBUTES: dict[str, dict[str, str]] = {
    STANDARD_DEMO_QUEUE: {},
    FIFO_DEMO_QUEUE: {"FifoQueue": "true", "ContentBasedDeduplication": "true"},
}
MESSAGE_COUNT = 100
CLIENT_ATTRIBUTE = "client"
DEFAULT_CLIENT_NAME = "Client 1"
# One group for every sender: a FIFO queue orders messages within a group only, and a group id
# may not contain spaces, so the client's name ("Client 1") cannot be the group.
FIFO_MESSAGE_GROUP = "queue-demo"
UNNAMED_CLIENT = "(no client)"
LONGEST_POLL_SECONDS = 20
_CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError)

log = structlog.get_logger("taskoverflow.operations.queue_demo")


class UnknownQueue(Exception):
    """The queue name does not exist in this account and region."""

    def __init__(self, queue_name: str) -> None:
        super().__init__(f"Unable to find a Queue by this name {queue_name}")


def demo_bodies(prepend: str = "", count: int = MESSAGE_COUNT) -> list[str]:
    return [f"{prepend}Message {number}" for number in range(count)]


def find_queue_url(sqs: Any, queue_name: str) -> str:
    try:
        return sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist as missing:
        raise UnknownQueue(queue_name) from missing


def wait_for_endpoint(sqs: Any, wait_seconds: float) -> None:
    """Return once SQS answers; `make run` starts this beside the emulator, which needs a moment."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            sqs.list_queues(MaxResults=1)
            return
        except _CONNECTION_ERRORS:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def create_demo_queues(sqs: Any) -> dict[str, str]:
    """Create both demo queues, or find them if they exist with these attributes; return their URLs."""
    return {
        name: sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        for name, attributes in DEMO_QUEUE_ATTRIBUTES.items()
    }


def send_demo_messages(
    sqs: Any, queue_url: str, bodies: list[str], *, client_name: str, fifo: bool, progress: bool = True
) -> int:
    """Send `bodies` in order, 10 per SendMessageBatch call; return how many SQS refused.

    A FIFO queue enqueues a batch's entries in the order they are listed, and the batches go one
    after another, so the group keeps the order of `bodies`. No deduplication id is given: the
    demo queue derives it from the body (content-based deduplication).
    """
    refused = 0
    group = {"MessageGroupId": FIFO_MESSAGE_GROUP} if fifo else {}
    attributes = {CLIENT_ATTRIBUTE: {"DataType": "String", "StringValue": client_name}}
    with tqdm(total=len(bodies), unit="msg", desc="send", disable=not progress, file=sys.stderr) as bar:
        for start in range(0, len(bodies), SQS_BATCH_LIMIT):
            batch = bodies[start : start + SQS_BATCH_LIMIT]
            response = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(index), "MessageBody": body, "MessageAttributes": attributes, **group}
                    for index, body in enumerate(batch)
                ],
            )
            for failure in response.get("Failed", []):
                log.error("queue_demo_send_failed", body=batch[int(failure["Id"])], code=failure.get("Code"))
            refused += len(response.get("Failed", []))
            bar.update(len(batch))
    return refused


def received_line(message: dict[str, Any]) -> str:
    client = message.get("MessageAttributes", {}).get(CLIENT_ATTRIBUTE, {}).get("StringValue", UNNAMED_CLIENT)
    return f"{client}: {message['Body']}"


@dataclass
class DemoReceiver:
    """Prints `<client>: <body>` for each message as it arrives and deletes it.

    `run()` returns after `stop_after` messages or once `max_idle_seconds` pass without one, and
    otherwise runs until interrupted; `received` counts what was shown either way, so the caller
    can catch the KeyboardInterrupt of Ctrl-C (the usual way to stop the demo) and still report.
    """

    sqs: Any
    queue_url: str
    out: TextIO
    stop_after: int | None = None
    max_idle_seconds: float | None = None
    received: int = field(default=0, init=False)

    def run(self) -> None:
        last_arrival = time.monotonic()
        while self.stop_after is None or self.received < self.stop_after:
            poll_seconds = LONGEST_POLL_SECONDS
            if self.max_idle_seconds is not None:
                idle_left = self.max_idle_seconds - (time.monotonic() - last_arrival)
                if idle_left <= 0:
                    return
                # Long-poll no longer than the idle time left, so the stop comes on time.
                poll_seconds = min(poll_seconds, math.ceil(idle_left))
            wanted = SQS_BATCH_LIMIT
            if self.stop_after is not None:
                # Never take more than will be shown: the rest stays visible to other receivers.
                wanted = min(wanted, self.stop_after - self.received)
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=wanted,
                WaitTimeSeconds=poll_seconds,
                MessageAttributeNames=[CLIENT_ATTRIBUTE],
            ).get("Messages", [])
            if messages:
                last_arrival = time.monotonic()
            self._show_and_delete(messages)

    def _show_and_delete(self, messages: list[dict[str, Any]]) -> None:
        shown: list[str] = []
        try:
            for message in messages:
                print(received_line(message), file=self.out, flush=True)
                shown.append(message["ReceiptHandle"])
        finally:
            # Delete what was shown even when interrupted, so a later receiver does not show it
            # again; a FIFO group releases its next messages only once these are deleted.
            for failure in delete_in_batches(self.sqs, self.queue_url, shown):
                log.warning("queue_demo_delete_failed", failure=failure)
            self.received += len(shown)


# ---- command line -------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the demo, shared by `queue-demo` and `taskoverflow queue-demo`."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--name",
        metavar="QUEUE",
        help="the queue to send to or receive from; a name ending in .fifo is a FIFO queue",
    )
    target.add_argument(
        "--create-demo-queues",
        action="store_true",
        help=f"create {STANDARD_DEMO_QUEUE} (standard) and {FIFO_DEMO_QUEUE} (FIFO, content-based "
        "deduplication) if they do not exist, print their URLs and stop",
    )
    parser.add_argument(
        "--client-name",
        default=DEFAULT_CLIENT_NAME,
        metavar="NAME",
        help=f"sent as the '{CLIENT_ATTRIBUTE}' message attribute; receivers print it before each body "
        f"(default {DEFAULT_CLIENT_NAME!r})",
    )
    parser.add_argument(
        "--prepend",
        default="",
        metavar="TEXT",
        help="put TEXT before each body ('TEXT Message 7'): new bodies pass the FIFO queue's "
        "deduplication when the same messages were sent less than 5 minutes ago",
    )
    parser.add_argument(
        "--receive",
        action="store_true",
        help="receive instead of send: print '<client>: <body>' as each message arrives and delete it, until Ctrl-C",
    )
    parser.add_argument(
        "--count",
        type=positive_int,
        metavar="N",
        help="with --receive: stop after N messages",
    )
    parser.add_argument(
        "--max-idle-seconds",
        type=positive_float,
        metavar="SECONDS",
        help="with --receive: stop once SECONDS pass without a message (for scripts and tests)",
    )
    parser.add_argument(
        "--wait-seconds",
        type=non_negative_int,
        default=0,
        metavar="SECONDS",
        help="wait up to SECONDS for the SQS endpoint to answer first, e.g. while the emulator "
        "starts (default 0: fail at once)",
    )
    parser.set_defaults(run=run)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "queue-demo",
        help="send or receive 100 numbered messages: standard vs FIFO queues",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="queue-demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    return parser


def _logs_to_stderr() -> None:
    """Keep stdout for what the demo shows: a script reading `<client>: <body>` lines (or a person
    watching them) must not find JSON log lines among them. The demo logs only failures, in the
    usual JSON, on stderr beside the progress bar and the summaries.
    """
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


def run(args: argparse.Namespace) -> int:
    _logs_to_stderr()
    if not args.receive and (args.count is not None or args.max_idle_seconds is not None):
        print("queue-demo: --count and --max-idle-seconds apply to --receive only", file=sys.stderr)
        return 2
    # A long poll lasts up to 20 s: the client must wait longer than that for an answer.
    sqs = make_client("sqs", read_timeout=LONGEST_POLL_SECONDS + 10)
    try:
        if args.wait_seconds:
            wait_for_endpoint(sqs, args.wait_seconds)
        if args.create_demo_queues:
            return _run_create_demo_queues(sqs)
        queue_url = find_queue_url(sqs, args.name)
        if args.receive:
            return _run_receive(sqs, queue_url, args)
        return _run_send(sqs, queue_url, args)
    except UnknownQueue as unknown:
        print(unknown, file=sys.stderr)
        return 1
    except _CONNECTION_ERRORS as unreachable:
        print(f"queue-demo: SQS does not answer ({unreachable}); is the emulator running?", file=sys.stderr)
        return 1


def _run_create_demo_queues(sqs: Any) -> int:
    try:
        urls = create_demo_queues(sqs)
    except ClientError as refused:
        # Typically a queue of that name exists with other attributes: SQS will not change them.
        print(f"queue-demo: cannot create the demo queues: {refused}", file=sys.stderr)
        return 1
    for name, url in urls.items():
        print(f"{name}: {url}")
    return 0


def _run_send(sqs: Any, queue_url: str, args: argparse.Namespace) -> int:
    bodies = demo_bodies(args.prepend)
    refused = send_demo_messages(sqs, queue_url, bodies, client_name=args.client_name, fifo=is_fifo(args.name))
    summary = f"sent {len(bodies) - refused} messages to {args.name} as {args.client_name!r}"
    if refused:
        print(f"{summary}; {refused} refused", file=sys.stderr)
        return 1
    if is_fifo(args.name):
        summary += " (bodies already sent in the last 5 minutes are dropped: --prepend makes new ones)"
    print(summary)
    return 0


def _run_receive(sqs: Any, queue_url: str, args: argparse.Namespace) -> int:
    receiver = DemoReceiver(sqs, queue_url, sys.stdout, stop_after=args.count, max_idle_seconds=args.max_idle_seconds)
    # `docker stop`, honcho and test harnesses stop a process with SIGTERM: end the long poll
    # at once and exit cleanly, exactly as on Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        # Status goes to stderr: stdout carries only the messages, for whoever pipes it on.
        print(f"receiving from {args.name}; Ctrl-C to stop", file=sys.stderr, flush=True)
        receiver.run()
    except KeyboardInterrupt:
        pass
    print(f"received {receiver.received} messages from {args.name}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
