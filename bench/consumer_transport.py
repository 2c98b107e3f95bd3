"""kombu's SQS transport or our boto3 loop under the consumers? (docs/decisions/0002.)

The same raw SNS-style messages (a TodoChanged envelope each, as raw delivery leaves them) are
drained from one moto server queue, alternately, by:

- kombu's SQS transport (`SimpleQueue.get` + `ack`), each body parsed into our envelope, so both
  sides do the same work per message;
- the shared boto3 loop (`SqsConsumer.poll_once`: receive 10, parse, dispatch, one batch delete).

For each: messages per second (median of the rounds), CPU per message in this process (the
consumer side: `time.process_time`) and in the moto server (from /proc), and AWS calls per
message (counted in botocore, kombu's clients included).

    python -m bench.consumer_transport [--messages 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from kombu import Connection

from bench.aws_calls import AwsCallCounter
from bench.process_cpu import cpu_spent, tree_cpu_seconds
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import TodoChanged, new_envelope, parse_envelope
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.sqs_consumer import SqsConsumer
from tests.support.moto import MotoServer

MESSAGES = 300
ROUNDS = 3
TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


def fill(sqs, url: str, count: int = MESSAGES) -> None:
    body = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="bench", correlation_id="c")
    for start in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": body.model_dump_json()} for i in range(start, min(start + 10, count))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def drain_with_boto3(sqs, url: str, dlq_url: str, count: int = MESSAGES) -> float:
    """Seconds the shared consumer loop takes to receive and delete `count` TodoChanged messages."""
    handled: list[str] = []
    consumer = SqsConsumer(
        sqs,
        url,
        dlq_url,
        {"TodoChanged": lambda envelope, data: handled.append(envelope.id)},
        visibility_timeout_seconds=30,
        wait_time_seconds=0,
    )
    started = time.perf_counter()
    while len(handled) < count:
        consumer.poll_once()
    return time.perf_counter() - started


def drain_with_kombu(url: str, name: str, endpoint: str, count: int = MESSAGES) -> float:
    """Seconds kombu's SQS transport takes to receive, parse and acknowledge `count` messages."""
    options = {
        "region": "us-east-1",
        "predefined_queues": {name: {"url": url, "access_key_id": "testing", "secret_access_key": "testing"}},
        "wait_time_seconds": 0,
    }
    received = 0
    with Connection(f"sqs://testing:testing@{endpoint.removeprefix('http://')}", transport_options=options) as conn:
        queue = conn.SimpleQueue(name)
        started = time.perf_counter()
        while received < count:
            message = queue.get(block=True, timeout=5)
            # kombu hands a raw-delivered body over as it arrived, outside its own message format.
            parse_envelope(message.body)
            message.ack()
            received += 1
        elapsed = time.perf_counter() - started
        queue.close()
    return elapsed


@dataclass
class Side:
    """The measurements of one transport over the rounds."""

    name: str
    seconds: list[float] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)

    def measure(self, drain: Callable[[], float], server_pid: int, counter: AwsCallCounter) -> None:
        calls_before = Counter(counter.snapshot())
        server_before = tree_cpu_seconds([server_pid])
        cpu_before = time.process_time()
        self.seconds.append(drain())
        self.client_cpu += time.process_time() - cpu_before
        self.server_cpu += cpu_spent(server_before, tree_cpu_seconds([server_pid]))
        self.calls += Counter(counter.snapshot()) - calls_before

    def line(self, messages: int) -> str:
        total = messages * len(self.seconds)
        calls = ", ".join(f"{operation.split('.')[1]} {n / total:.2f}" for operation, n in sorted(self.calls.items()))
        return (
            f"{self.name:28} {messages / statistics.median(self.seconds):8.1f} msg/s   "
            f"CPU/msg: consumer {1000 * self.client_cpu / total:5.2f} ms, moto {1000 * self.server_cpu / total:5.2f} ms"
            f"   calls/msg: {calls}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--messages", type=int, default=MESSAGES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    # `python -m bench` calls main() with its own argv in sys.argv: only what is passed counts.
    args = parser.parse_args(argv or [])
    configure_logging("bench", "WARNING")
    counter = AwsCallCounter().install()
    server = MotoServer().start()
    assert server.process is not None
    os.environ.update(
        AWS_ENDPOINT_URL=server.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
    )
    sqs = make_client("sqs")
    url = sqs.create_queue(QueueName="bench-consumer")["QueueUrl"]
    dlq_url = sqs.create_queue(QueueName="bench-consumer-dlq")["QueueUrl"]
    ours, kombu = Side("shared boto3 loop"), Side("kombu SimpleQueue (reference)")
    try:
        for _ in range(args.rounds):
            fill(sqs, url, args.messages)
            ours.measure(lambda: drain_with_boto3(sqs, url, dlq_url, args.messages), server.process.pid, counter)
            fill(sqs, url, args.messages)
            kombu.measure(
                lambda: drain_with_kombu(url, "bench-consumer", server.url, args.messages), server.process.pid, counter
            )
    finally:
        server.stop()
    print(f"== consumer transport, {args.messages} messages from one queue, {args.rounds} rounds (rate: median)")
    print(kombu.line(args.messages))
    print(ours.line(args.messages))
    ratio = statistics.median(kombu.seconds) / statistics.median(ours.seconds)
    print(f"boto3 loop / kombu: x{ratio:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
