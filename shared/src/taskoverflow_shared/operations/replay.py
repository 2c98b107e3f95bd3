"""Re-publish archived events, chosen by time window and type, to the topic or to one service's queue.

The archive queue subscribes to the topic without a filter policy, so it holds every event of the
last 14 days (its retention). A replay reads it without consuming it: every archived message is
received, held invisible for the scan, and released at the end, so the archive keeps them all.
Consumers are idempotent (processed event ids, naturally idempotent effects), so re-delivering
an event they already handled is harmless.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from tqdm import tqdm

from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.addresses import topic_arn as resolve_topic_arn
from taskoverflow_shared.aws_clients import aws_region, make_client
from taskoverflow_shared.events import EVENT_TYPES, Envelope, UnprocessableEvent, parse_envelope
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.operations.cli import instant, positive_int
from taskoverflow_shared.operations.queue_scan import (
    DEFAULT_SCAN_VISIBILITY_SECONDS,
    DEFAULT_WAIT_SECONDS,
    QueueScan,
    approximate_depth,
)
from taskoverflow_shared.operations.sqs_batches import OutgoingMessage, send_in_batches
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.topology import Topology, load_topology

ARCHIVE_SERVICE = "archive"

log = structlog.get_logger("taskoverflow.operations.replay")


@dataclass(frozen=True)
class Selection:
    """Which archived events to replay: `since` <= time < `until`, of one of `types` (None: any)."""

    since: datetime | None = None
    until: datetime | None = None
    types: frozenset[str] | None = None

    def matches(self, envelope: Envelope) -> bool:
        time = event_time(envelope)
        return (
            (self.types is None or envelope.type in self.types)
            and (self.since is None or time >= self.since)
            and (self.until is None or time < self.until)
        )


@dataclass(frozen=True)
class TopicTarget:
    """Publish to the topic: filter policies route each event to the queues that consume it."""

    topic_arn: str
    type_attribute: str

    @property
    def label(self) -> str:
        return f"topic {self.topic_arn.rsplit(':', 1)[-1]}"


@dataclass(frozen=True)
class QueueTarget:
    """Send straight to one service's queue, bypassing the topic (and so the other consumers)."""

    service: str
    queue_url: str
    event_types: tuple[str, ...] | None
    type_attribute: str

    @property
    def label(self) -> str:
        return f"queue {self.service}"

    def consumes(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types


Target = TopicTarget | QueueTarget


@dataclass
class ReplayReport:
    """What a replay found and did; `selected` is in time order."""

    dry_run: bool
    target: str
    scanned: int = 0
    unparseable: int = 0
    duplicates: int = 0
    not_selected: int = 0
    not_consumed_by_target: int = 0
    beyond_max: int = 0
    selected: list[Envelope] = field(default_factory=list)
    replayed: int = 0
    failed: int = 0
    kept_in_archive: int = 0


def event_time(envelope: Envelope) -> datetime:
    """The envelope's time, aware: a producer that sent a naive time meant UTC (new_envelope does)."""
    return envelope.time if envelope.time.tzinfo is not None else envelope.time.replace(tzinfo=UTC)


def replay(
    sqs: Any,
    sns: Any,
    *,
    archive_queue_urls: Sequence[str],
    selection: Selection,
    target: Target,
    dry_run: bool = False,
    max_events: int | None = None,
    visibility_timeout_seconds: int = DEFAULT_SCAN_VISIBILITY_SECONDS,
    wait_seconds: int = DEFAULT_WAIT_SECONDS,
    progress: bool = True,
) -> ReplayReport:
    """Scan the archive queues, pick the selected events, re-publish them, release the archive."""
    report = ReplayReport(dry_run=dry_run, target=target.label)
    scans = [QueueScan(sqs, url, visibility_timeout_seconds, wait_seconds) for url in archive_queue_urls]
    with contextlib.ExitStack() as releases:
        for scan in scans:
            # Entered before the first receive: whatever happens, the archive gets its messages back.
            releases.enter_context(scan)
        chosen = _select(sqs, scans, selection, report, progress)
        if isinstance(target, QueueTarget):
            consumed = [envelope for envelope in chosen if target.consumes(envelope.type)]
            # The consumer would dead-letter an event it has no handler for: do not send those.
            report.not_consumed_by_target = len(chosen) - len(consumed)
            chosen = consumed
        if max_events is not None:
            report.beyond_max = max(0, len(chosen) - max_events)
            chosen = chosen[:max_events]
        report.selected = chosen
        if not dry_run and chosen:
            accepted = _publish(sqs, sns, target, chosen)
            report.replayed = len(accepted)
            report.failed = len(chosen) - len(accepted)
    report.kept_in_archive = sum(scan.released for scan in scans)
    return report


def _select(
    sqs: Any, scans: list[QueueScan], selection: Selection, report: ReplayReport, progress: bool
) -> list[Envelope]:
    total = sum(approximate_depth(sqs, scan.queue_url) for scan in scans)
    unique: dict[str, Envelope] = {}
    with tqdm(total=total, unit="msg", desc="scan archive", disable=not progress, file=sys.stderr) as bar:
        for scan in scans:
            for batch in scan.batches():
                bar.update(len(batch))
                for message in batch:
                    report.scanned += 1
                    try:
                        envelope = parse_envelope(message["Body"])
                    except UnprocessableEvent as unprocessable:
                        report.unparseable += 1
                        log.warning(
                            "archived_message_unparseable", message_id=message["MessageId"], reason=str(unprocessable)
                        )
                        continue
                    if not selection.matches(envelope):
                        report.not_selected += 1
                    elif envelope.id in unique:
                        # SNS delivers at least once, and every replay to the topic archives a
                        # copy: one event id is replayed once.
                        report.duplicates += 1
                    else:
                        unique[envelope.id] = envelope
    return sorted(unique.values(), key=lambda envelope: (event_time(envelope), envelope.id))


def _publish(sqs: Any, sns: Any, target: Target, envelopes: list[Envelope]) -> set[str]:
    """Re-publish; return the event ids that were accepted.

    Both paths serialize the parsed envelope (as the outbox relay does), so a body wrapped by
    SNS (raw delivery off) goes out unwrapped; the `data` object is carried over whole.
    """
    if isinstance(target, TopicTarget):
        return SnsPublisher(sns, target.topic_arn, type_attribute=target.type_attribute).publish(envelopes)
    outgoing = [
        OutgoingMessage(
            key=envelope.id,
            body=envelope.model_dump_json(),
            attributes={
                target.type_attribute: {"DataType": "String", "StringValue": envelope.type},
                "correlation_id": {"DataType": "String", "StringValue": envelope.correlation_id},
            },
        )
        for envelope in envelopes
    ]
    result = send_in_batches(sqs, target.queue_url, outgoing)
    for event_id, failure in result.failed.items():
        log.error("replay_send_failed", replayed_event_id=event_id, failure=failure)
    return result.sent


def summary_table(report: ReplayReport) -> str:
    """Per event type: how many, and the first and last event time; then what the scan left out."""
    heading = "would replay" if report.dry_run else "selected"
    lines = [f"{heading}: nothing"]
    by_type: dict[str, list[Envelope]] = {}
    for envelope in report.selected:
        by_type.setdefault(envelope.type, []).append(envelope)
    if by_type:
        type_width = max(len("event type"), *(len(name) for name in by_type))
        lines = [f"{heading:>12}  {'event type':<{type_width}}  {'first':<32}  last"]
        for name in sorted(by_type):
            envelopes = by_type[name]
            first, last = event_time(envelopes[0]).isoformat(), event_time(envelopes[-1]).isoformat()
            lines.append(f"{len(envelopes):>12}  {name:<{type_width}}  {first:<32}  {last}")
    lines.append(
        f"scanned {report.scanned} archived messages: {report.duplicates} duplicates, "
        f"{report.unparseable} unparseable, {report.not_selected} outside the selection, "
        f"{report.not_consumed_by_target} not consumed by the target, {report.beyond_max} beyond --max"
    )
    return "\n".join(lines)


def final_line(report: ReplayReport) -> str:
    if report.dry_run:
        return (
            f"dry run: would replay {len(report.selected)} events to {report.target}, sent 0; "
            f"archive kept {report.kept_in_archive} messages"
        )
    return (
        f"replayed {report.replayed} events to {report.target}, failed {report.failed}; "
        f"archive kept {report.kept_in_archive} messages"
    )


def archive_queue_urls(sqs: Any, topology: Topology) -> list[str]:
    """The archive and its DLQ: every scan counts as a receive, so after maxReceiveCount scans
    SQS moves archived messages to the DLQ (keeping their original enqueue time); both hold events."""
    spec = topology.queue_for(ARCHIVE_SERVICE)
    return [queue_url(sqs, spec.name, wait_seconds=0), queue_url(sqs, spec.dlq_name, wait_seconds=0)]


def main(argv: list[str] | None = None) -> int:
    topology = load_topology()
    services = sorted(service for service in topology.queues if service != ARCHIVE_SERVICE)
    parser = argparse.ArgumentParser(prog="taskoverflow-replay", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--since", type=instant, metavar="ISO", help="replay events at or after this ISO time (UTC if no offset)"
    )
    parser.add_argument(
        "--until", type=instant, metavar="ISO", help="replay events before this ISO time (UTC if no offset)"
    )
    parser.add_argument(
        "--type",
        dest="types",
        nargs="+",
        action="extend",
        choices=sorted(EVENT_TYPES),
        metavar="TYPE",
        help=f"one or more of {', '.join(sorted(EVENT_TYPES))} (default: all)",
    )
    target_group = parser.add_mutually_exclusive_group()
    target_group.add_argument(
        "--to-topic", action="store_true", help="publish to the topic, routed by filter policies (the default)"
    )
    target_group.add_argument(
        "--to-queue", choices=services, metavar="SERVICE", help=f"send to one queue: {', '.join(services)}"
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be replayed, send nothing")
    parser.add_argument(
        "--max", type=positive_int, dest="max_events", metavar="N", help="replay at most the N oldest selected"
    )
    parser.add_argument(
        "--visibility-timeout",
        type=positive_int,
        default=DEFAULT_SCAN_VISIBILITY_SECONDS,
        metavar="SECONDS",
        help="seconds archived messages stay hidden while the scan runs (released at the end)",
    )
    args = parser.parse_args(argv)
    if args.since and args.until and args.since >= args.until:
        parser.error("--since must be before --until")
    configure_logging("operations")
    sqs, sns = make_client("sqs"), make_client("sns")
    target: Target
    if args.to_queue:
        spec = topology.queue_for(args.to_queue)
        target = QueueTarget(
            args.to_queue, queue_url(sqs, spec.name, wait_seconds=0), spec.event_types, topology.message_type_attribute
        )
    else:
        arn = resolve_topic_arn(make_client("sts"), topology.topic_name, aws_region())
        target = TopicTarget(arn, topology.message_type_attribute)
    selection = Selection(args.since, args.until, frozenset(args.types) if args.types else None)
    report = replay(
        sqs,
        sns,
        archive_queue_urls=archive_queue_urls(sqs, topology),
        selection=selection,
        target=target,
        dry_run=args.dry_run,
        max_events=args.max_events,
        visibility_timeout_seconds=args.visibility_timeout,
    )
    log.info(
        "replay_finished",
        target=report.target,
        dry_run=report.dry_run,
        selected=len(report.selected),
        replayed=report.replayed,
        failed=report.failed,
        kept_in_archive=report.kept_in_archive,
    )
    print(summary_table(report))
    print(final_line(report))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
