"""Move messages from a service's dead-letter queue back to its source queue.

Use it once the cause is fixed (a downstream outage, a bug, a missing handler). Messages are
received in batches, sent to the source queue with their original attributes minus
`dead_letter_reason`, and deleted from the DLQ only once the send succeeded, so a message is
never lost (at worst it is in both queues for a moment; consumers are idempotent).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import structlog
from tqdm import tqdm

from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.operations.cli import positive_int
from taskoverflow_shared.operations.queue_scan import (
    DEFAULT_SCAN_VISIBILITY_SECONDS,
    DEFAULT_WAIT_SECONDS,
    QueueScan,
    approximate_depth,
)
from taskoverflow_shared.operations.sqs_batches import (
    SQS_BATCH_LIMIT,
    OutgoingMessage,
    delete_in_batches,
    resendable_attributes,
    send_in_batches,
)
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE
from taskoverflow_shared.topology import load_topology

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


def main(argv: list[str] | None = None) -> int:
    topology = load_topology()
    parser = argparse.ArgumentParser(prog="taskoverflow-redrive", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--queue",
        required=True,
        choices=sorted(topology.queues),
        metavar="SERVICE",
        help=f"the service whose DLQ to redrive: {', '.join(sorted(topology.queues))}",
    )
    parser.add_argument("--dry-run", action="store_true", help="count what would move, move nothing")
    parser.add_argument("--max", type=positive_int, dest="max_messages", metavar="N", help="move at most N messages")
    parser.add_argument(
        "--reason-contains",
        metavar="TEXT",
        help=f"move only messages whose dead_letter_reason contains TEXT (any case); {NO_REASON!r} counts as a reason",
    )
    parser.add_argument(
        "--visibility-timeout",
        type=positive_int,
        default=DEFAULT_SCAN_VISIBILITY_SECONDS,
        metavar="SECONDS",
        help="seconds the messages stay hidden while the scan runs (released at the end)",
    )
    args = parser.parse_args(argv)
    configure_logging("operations")
    spec = topology.queue_for(args.queue)
    sqs = make_client("sqs")
    # An operator wants a typo'd or missing queue reported now, not retried for a minute.
    dlq_url, source_url = queue_url(sqs, spec.dlq_name, wait_seconds=0), queue_url(sqs, spec.name, wait_seconds=0)
    options = RedriveOptions(
        dry_run=args.dry_run,
        max_messages=args.max_messages,
        reason_contains=args.reason_contains,
        type_attribute=topology.message_type_attribute,
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


if __name__ == "__main__":
    sys.exit(main())
