"""`taskoverflow dlq list|redrive|purge`: look into a service's dead-letter queue, send it home, or empty it.

Redrive is for once the cause is fixed (a downstream outage, a bug, a missing handler). Messages
are received in batches, sent to the source queue with their original attributes minus
`dead_letter_reason`, and deleted from the DLQ only once the send succeeded, so a message is
never lost (at worst it is in both queues for a moment; consumers are idempotent).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from tqdm import tqdm

from taskoverflow_operations.arguments import non_negative_int, positive_int, queue_spec
from taskoverflow_operations.queue_scan import (
    DEFAULT_SCAN_VISIBILITY_SECONDS,
    DEFAULT_WAIT_SECONDS,
    QueueScan,
    approximate_depth,
)
from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.sqs_batches import (
    SQS_BATCH_LIMIT,
    OutgoingMessage,
    delete_in_batches,
    resendable_attributes,
    send_in_batches,
)
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE
from taskoverflow_shared.topology import QueueSpec, is_fifo, load_topology

# SQS's own redrive (after maxReceiveCount failed receives) adds no attribute; the consumer
# loop adds `dead_letter_reason` when it dead-letters a message itself.
NO_REASON = "(no reason attribute: exceeded maxReceiveCount)"
UNKNOWN_TYPE = "(unknown)"

log = structlog.get_logger("taskoverflow.operations.redrive")


@dataclass(frozen=True)
class RedriveOptions:
    dry_run: bool = False
    max_messages: int | None = None
    reason_contains: str | None = None
    type_attribute: str = "type"
    visibility_timeout_seconds: int = DEFAULT_SCAN_VISIBILITY_SECONDS
    wait_seconds: int = DEFAULT_WAIT_SECONDS

    def selects(self, reason: str) -> bool:
        return self.reason_contains is None or self.reason_contains.casefold() in reason.casefold()


@dataclass
class RedriveReport:
    """What a redrive did. `selected` counts per (reason, event type) what it moved or would move."""

    dry_run: bool
    moved: int = 0
    skipped: int = 0
    failed: int = 0
    selected: Counter[tuple[str, str]] = field(default_factory=Counter)


def dead_letter_reason(message: dict[str, Any]) -> str:
    attribute = message.get("MessageAttributes", {}).get(DEAD_LETTER_REASON_ATTRIBUTE)
    return attribute["StringValue"] if attribute and "StringValue" in attribute else NO_REASON


def event_type(message: dict[str, Any], type_attribute: str) -> str:
    """The `type` attribute, else the envelope's `type` field: a message the consumer could not parse has neither."""
    attribute = message.get("MessageAttributes", {}).get(type_attribute)
    if attribute and "StringValue" in attribute:
        return attribute["StringValue"]
    try:
        body = json.loads(message["Body"])
    except ValueError:
        return UNKNOWN_TYPE
    found = body.get("type") if isinstance(body, dict) else None
    return found if isinstance(found, str) and found else UNKNOWN_TYPE


def redrive(
    sqs: Any, *, dlq_url: str, source_url: str, options: RedriveOptions, progress: bool = True
) -> RedriveReport:
    """Move (or, in a dry run, only count) the DLQ's messages back to the source queue."""
    report = RedriveReport(dry_run=options.dry_run)
    total = approximate_depth(sqs, dlq_url)
    if options.max_messages is not None and options.reason_contains is None:
        total = min(total, options.max_messages)
    scan = QueueScan(sqs, dlq_url, options.visibility_timeout_seconds, options.wait_seconds)
    with scan, tqdm(total=total, unit="msg", desc="redrive", disable=not progress, file=sys.stderr) as bar:
        while options.max_messages is None or sum(report.selected.values()) < options.max_messages:
            wanted = SQS_BATCH_LIMIT
            if options.max_messages is not None:
                # Never receive more than may still be selected: the rest stays untouched.
                wanted = min(wanted, options.max_messages - sum(report.selected.values()))
            batch = scan.next_batch(wanted)
            if batch is None:
                break
            bar.update(len(batch))
            chosen = []
            for message in batch:
                reason = dead_letter_reason(message)
                if not options.selects(reason):
                    # Held by the scan and released at the end, so it is not received again meanwhile.
                    report.skipped += 1
                    continue
                report.selected[(reason, event_type(message, options.type_attribute))] += 1
                chosen.append(message)
            if chosen and not options.dry_run:
                _move(sqs, scan, dlq_url, source_url, chosen, report)
    return report


def _move(
    sqs: Any, scan: QueueScan, dlq_url: str, source_url: str, messages: list[dict[str, Any]], report: RedriveReport
) -> None:
    outgoing = [
        OutgoingMessage(
            key=message["MessageId"],
            body=message["Body"],
            attributes=resendable_attributes(message.get("MessageAttributes", {}), drop=DEAD_LETTER_REASON_ATTRIBUTE),
            # FIFO: back into its own group, and not deduplicated against its first send (the body
            # is the same, and content-based deduplication would drop it within five minutes).
            group_id=message.get("Attributes", {}).get("MessageGroupId"),
            deduplication_id=message["MessageId"] if is_fifo(source_url) else None,
        )
        for message in messages
    ]
    result = send_in_batches(sqs, source_url, outgoing)
    for message_id, failure in result.failed.items():
        # Left in the DLQ (released at the end of the scan) for the next attempt.
        log.error("redrive_send_failed", message_id=message_id, failure=failure)
    sent = [message for message in messages if message["MessageId"] in result.sent]
    for failure in delete_in_batches(sqs, dlq_url, [message["ReceiptHandle"] for message in sent]):
        # The copy in the source queue is already there: the DLQ copy would only be a duplicate,
        # which idempotent consumers absorb if it is ever redriven again.
        log.warning("redrive_delete_failed", failure=failure)
    scan.settle(sent)
    report.moved += len(sent)
    report.failed += len(result.failed)


def summary_table(report: RedriveReport) -> str:
    """Counts per event type and dead-letter reason, most frequent first."""
    heading = "would move" if report.dry_run else "selected"
    if not report.selected:
        return f"{heading}: nothing"
    rows = sorted(report.selected.items(), key=lambda item: (-item[1], item[0]))
    type_width = max(len("event type"), *(len(event) for (_, event), _ in rows))
    lines = [f"{heading:>10}  {'event type':<{type_width}}  dead_letter_reason"]
    for (reason, event), count in rows:
        shown = reason if len(reason) <= 100 else reason[:97] + "..."
        lines.append(f"{count:>10}  {event:<{type_width}}  {shown}")
    return "\n".join(lines)


def final_line(report: RedriveReport, dlq_name: str, source_name: str) -> str:
    if report.dry_run:
        would = sum(report.selected.values())
        return f"dry run {dlq_name} -> {source_name}: would move {would}, skipped {report.skipped}, moved 0"
    return (
        f"redrive {dlq_name} -> {source_name}: moved {report.moved}, skipped {report.skipped}, failed {report.failed}"
    )


@dataclass(frozen=True)
class PeekedMessage:
    """One dead letter as `dlq list` shows it."""

    message_id: str
    sent_at: datetime | None
    receive_count: int | None
    event_type: str
    event_id: str | None
    reason: str

    @classmethod
    def of(cls, message: dict[str, Any], type_attribute: str) -> PeekedMessage:
        system = message.get("Attributes", {})
        sent = system.get("SentTimestamp")
        received = system.get("ApproximateReceiveCount")
        return cls(
            message_id=message["MessageId"],
            sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
            receive_count=int(received) if received else None,
            event_type=event_type(message, type_attribute),
            event_id=_event_id(message["Body"]),
            reason=dead_letter_reason(message),
        )

    def line(self) -> str:
        sent = self.sent_at.isoformat(timespec="seconds") if self.sent_at else "?"
        return f"{sent}  {self.event_type:<18}  {self.event_id or '(no event id)':<36}  {self.reason}"


@dataclass
class DlqListing:
    visible: int
    in_flight: int
    peeked: list[PeekedMessage]


def _event_id(body: str) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    found = parsed.get("id") if isinstance(parsed, dict) else None
    return found if isinstance(found, str) else None


def list_dead_letters(
    sqs: Any, dlq_url: str, *, peek: int, type_attribute: str = "type", wait_seconds: int = DEFAULT_WAIT_SECONDS
) -> DlqListing:
    """Count the DLQ and read up to `peek` messages, which are released (visible again) at once."""
    counts = sqs.get_queue_attributes(
        QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    peeked: list[PeekedMessage] = []
    # A short hold: a peek must not hide the DLQ from a redrive started a minute later.
    with QueueScan(sqs, dlq_url, visibility_timeout_seconds=60, wait_seconds=wait_seconds) as scan:
        while len(peeked) < peek and (batch := scan.next_batch(peek - len(peeked))) is not None:
            peeked.extend(PeekedMessage.of(message, type_attribute) for message in batch)
    return DlqListing(
        visible=int(counts["ApproximateNumberOfMessages"]),
        in_flight=int(counts["ApproximateNumberOfMessagesNotVisible"]),
        peeked=peeked,
    )


def listing_text(listing: DlqListing, dlq_name: str) -> str:
    lines = [f"{dlq_name}: {listing.visible} messages visible, {listing.in_flight} in flight"]
    if listing.peeked:
        lines.append(f"{'sent':<25}  {'event type':<18}  {'event id':<36}  dead_letter_reason")
        lines.extend(message.line() for message in listing.peeked)
    return "\n".join(lines)


def purge(sqs: Any, dlq_url: str) -> int:
    """Delete every message of the DLQ; return how many there were (approximately, as SQS counts)."""
    before = approximate_depth(sqs, dlq_url)
    sqs.purge_queue(QueueUrl=dlq_url)
    return before


# ---- command line -------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    topology = load_topology()
    services = ", ".join(sorted(topology.queues))
    dlq = commands.add_parser(
        "dlq",
        help="look into, redrive or purge a service's dead-letter queue",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = dlq.add_subparsers(dest="dlq_action", required=True, metavar="ACTION")
    queue_help = f"a service ({services}) or its queue or DLQ name"

    listing = actions.add_parser("list", help="count the DLQ and show messages with their failure reason")
    listing.add_argument("queue", type=queue_spec, metavar="QUEUE", help=queue_help)
    listing.add_argument(
        "--peek", type=non_negative_int, default=10, metavar="N", help="show up to N messages (default 10)"
    )
    listing.set_defaults(run=_run_list)

    redriving = actions.add_parser("redrive", help="move dead letters back to the source queue")
    redriving.add_argument("queue", type=queue_spec, metavar="QUEUE", help=queue_help)
    redriving.add_argument("--dry-run", action="store_true", help="count what would move, move nothing")
    redriving.add_argument("--max", type=positive_int, dest="max_messages", metavar="N", help="move at most N")
    redriving.add_argument(
        "--reason-contains",
        metavar="TEXT",
        help=f"move only messages whose dead_letter_reason contains TEXT (any case); {NO_REASON!r} counts as a reason",
    )
    redriving.add_argument(
        "--visibility-timeout",
        type=positive_int,
        default=DEFAULT_SCAN_VISIBILITY_SECONDS,
        metavar="SECONDS",
        help="seconds the messages stay hidden while the scan runs (released at the end)",
    )
    redriving.set_defaults(run=_run_redrive)

    purging = actions.add_parser("purge", help="delete every message of the DLQ (asks first)")
    purging.add_argument("queue", type=queue_spec, metavar="QUEUE", help=queue_help)
    purging.add_argument("--yes", action="store_true", help="do not ask; for scripts")
    purging.add_argument("--dry-run", action="store_true", help="say how many would be deleted, delete nothing")
    purging.set_defaults(run=_run_purge)


def _run_list(args: argparse.Namespace) -> int:
    spec: QueueSpec = args.queue
    sqs = make_client("sqs")
    listing = list_dead_letters(
        sqs,
        queue_url(sqs, spec.dlq_name, wait_seconds=0),
        peek=args.peek,
        type_attribute=load_topology().message_type_attribute,
    )
    print(listing_text(listing, spec.dlq_name))
    return 0


def _run_redrive(args: argparse.Namespace) -> int:
    spec: QueueSpec = args.queue
    sqs = make_client("sqs")
    # An operator wants a typo'd or missing queue reported now, not retried for a minute.
    dlq_url, source_url = queue_url(sqs, spec.dlq_name, wait_seconds=0), queue_url(sqs, spec.name, wait_seconds=0)
    options = RedriveOptions(
        dry_run=args.dry_run,
        max_messages=args.max_messages,
        reason_contains=args.reason_contains,
        type_attribute=load_topology().message_type_attribute,
        visibility_timeout_seconds=args.visibility_timeout,
    )
    report = redrive(sqs, dlq_url=dlq_url, source_url=source_url, options=options)
    log.info(
        "redrive_finished",
        queue=spec.dlq_name,
        dry_run=report.dry_run,
        moved=report.moved,
        skipped=report.skipped,
        failed=report.failed,
    )
    print(summary_table(report))
    print(final_line(report, spec.dlq_name, spec.name))
    # Messages that could not be sent are still in the DLQ: say so to scripts and `make`.
    return 1 if report.failed else 0


def _run_purge(args: argparse.Namespace) -> int:
    spec: QueueSpec = args.queue
    sqs = make_client("sqs")
    dlq_url = queue_url(sqs, spec.dlq_name, wait_seconds=0)
    if args.dry_run:
        print(f"dry run: would purge {approximate_depth(sqs, dlq_url)} messages from {spec.dlq_name}")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"refusing to purge {spec.dlq_name} without a terminal to confirm: pass --yes", file=sys.stderr)
            return 2
        answer = input(f"Delete every message of {spec.dlq_name}? Type its name to confirm: ")
        if answer.strip() != spec.dlq_name:
            print("not confirmed: nothing deleted", file=sys.stderr)
            return 1
    purged = purge(sqs, dlq_url)
    log.info("dlq_purged", queue=spec.dlq_name, purged=purged)
    print(f"purged {spec.dlq_name}: {purged} messages deleted")
    return 0
