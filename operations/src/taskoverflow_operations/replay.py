"""`taskoverflow replay`: re-publish archived events, chosen by time window, type and subject.

Events come from the S3 event archive (written by the event-archiver service), each once, in the
order they arrived. They go to the topic (its filter policies route them to every consumer of
their type) or straight to one service's queue (`--to ical-worker` rebuilds only that service).
Every replayed message keeps its original event id, so idempotent consumers skip what they
already processed, and carries the message attribute `replayed=true`, so logs tell replays apart.

A replay needs a window (`--since`/`--until`) or `--all`, and is paced (50 events/s unless
`--rate` says otherwise): re-publishing the whole archive at full speed by accident would bury
every consumer. A CalendarRequested older than the snapshots' lifetime is left out: its snapshot
is gone, so the worker could only fail it and mail its requester a failure weeks later.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from tqdm import tqdm

from taskoverflow_operations.archive_query import Selection, add_selection_arguments, select, selection_from
from taskoverflow_operations.arguments import positive_float, positive_int
from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.addresses import topic_arn as resolve_topic_arn
from taskoverflow_shared.aws_clients import aws_region, make_client
from taskoverflow_shared.events import Envelope
from taskoverflow_shared.sns_publisher import REPLAYED_ATTRIBUTE, SnsPublisher, message_group
from taskoverflow_shared.sqs_batches import SQS_BATCH_LIMIT, OutgoingMessage, send_in_batches
from taskoverflow_shared.topology import Topology, is_fifo, load_topology

TOPIC = "topic"
DEFAULT_EVENTS_PER_SECOND = 50.0
CALENDAR_REQUESTED = "CalendarRequested"

log = structlog.get_logger("taskoverflow.operations.replay")


@dataclass(frozen=True)
class TopicTarget:
    """Publish to the topic: filter policies route each event to the queues that consume it."""

    topic_arn: str
    type_attribute: str

    @property
    def label(self) -> str:
        return f"topic {self.topic_arn.rsplit(':', 1)[-1]}"

    def consumes(self, _event_type: str) -> bool:
        return True


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
    """What a replay found and did; `selected` is in arrival order."""

    dry_run: bool
    target: str
    found: int = 0
    not_consumed_by_target: int = 0
    expired_calendar_requests: int = 0
    beyond_max: int = 0
    selected: list[Envelope] = field(default_factory=list)
    sent: int = 0
    failed: int = 0

    @property
    def skipped(self) -> int:
        return self.not_consumed_by_target + self.expired_calendar_requests + self.beyond_max


def replay(
    s3: Any,
    sqs: Any,
    sns: Any,
    *,
    bucket: str,
    archive_prefix: str,
    selection: Selection,
    target: Target,
    dry_run: bool = False,
    max_events: int | None = None,
    events_per_second: float | None = None,
    calendar_requests_since: datetime | None = None,
    progress: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayReport:
    """Read the selected events from the archive and re-publish them in arrival order.

    CalendarRequested events from before `calendar_requests_since` are left out (their snapshots
    have expired)."""
    report = ReplayReport(dry_run=dry_run, target=target.label)
    chosen: list[Envelope] = []
    for archived in select(s3, bucket, archive_prefix, selection):
        report.found += 1
        if not target.consumes(archived.envelope.type):
            # The consumer would dead-letter an event it has no handler for: do not send those.
            report.not_consumed_by_target += 1
        elif _expired_request(archived.envelope, calendar_requests_since):
            report.expired_calendar_requests += 1
        elif max_events is not None and len(chosen) >= max_events:
            report.beyond_max += 1
        else:
            chosen.append(archived.envelope)
    report.selected = chosen
    if dry_run or not chosen:
        return report
    pace = _Pace(events_per_second, clock, sleep)
    with tqdm(total=len(chosen), unit="event", desc="replay", disable=not progress, file=sys.stderr) as bar:
        for start in range(0, len(chosen), SQS_BATCH_LIMIT):
            batch = chosen[start : start + SQS_BATCH_LIMIT]
            pace.wait_for(len(batch))
            accepted = _publish(sqs, sns, target, batch)
            report.sent += len(accepted)
            for envelope in batch:
                if envelope.id not in accepted:
                    report.failed += 1
                    log.error("replay_send_failed", replayed_event_id=envelope.id, event_type=envelope.type)
            bar.update(len(batch))
    return report


def _expired_request(envelope: Envelope, calendar_requests_since: datetime | None) -> bool:
    return (
        calendar_requests_since is not None
        and envelope.type == CALENDAR_REQUESTED
        and envelope.time < calendar_requests_since
    )


@dataclass
class _Pace:
    """At most `per_second` events per second on average, one batch at a time."""

    per_second: float | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    _started: float | None = None
    _released: int = 0

    def wait_for(self, count: int) -> None:
        if self.per_second is None:
            return
        if self._started is None:
            self._started = self.clock()
        due = self._started + self._released / self.per_second
        if (delay := due - self.clock()) > 0:
            self.sleep(delay)
        self._released += count


def _publish(sqs: Any, sns: Any, target: Target, envelopes: Sequence[Envelope]) -> set[str]:
    """Re-publish one batch; return the event ids that were accepted."""
    if isinstance(target, TopicTarget):
        publisher = SnsPublisher(sns, target.topic_arn, type_attribute=target.type_attribute, replayed=True)
        return publisher.publish(envelopes)
    fifo = is_fifo(target.queue_url)
    outgoing = [
        OutgoingMessage(
            key=envelope.id,
            body=envelope.model_dump_json(),
            attributes={
                target.type_attribute: {"DataType": "String", "StringValue": envelope.type},
                "correlationid": {"DataType": "String", "StringValue": envelope.correlation_id},
                REPLAYED_ATTRIBUTE: {"DataType": "String", "StringValue": "true"},
            },
            group_id=message_group(envelope) if fifo else None,
            deduplication_id=envelope.id if fifo else None,
        )
        for envelope in envelopes
    ]
    result = send_in_batches(sqs, target.queue_url, outgoing)
    for event_id, failure in result.failed.items():
        log.error("replay_send_failed", replayed_event_id=event_id, failure=failure)
    return result.sent


def summary_table(report: ReplayReport) -> str:
    """Per event type: how many were selected, and how many of what was found was left out."""
    heading = "would send" if report.dry_run else "selected"
    counts: dict[str, int] = {}
    for envelope in report.selected:
        counts[envelope.type] = counts.get(envelope.type, 0) + 1
    lines = [f"{heading}: nothing"]
    if counts:
        lines = [f"{heading:>10}  event type"]
        lines += [f"{counts[name]:>10}  {name}" for name in sorted(counts)]
    lines.append(
        f"found {report.found} archived events in the selection: {report.not_consumed_by_target} not consumed "
        f"by the target, {report.expired_calendar_requests} calendar requests older than their snapshots, "
        f"{report.beyond_max} beyond --max"
    )
    return "\n".join(lines)


def final_line(report: ReplayReport) -> str:
    if report.dry_run:
        return f"dry run to {report.target}: would send {len(report.selected)}, skipped {report.skipped}, sent 0"
    return f"replay to {report.target}: sent {report.sent}, skipped {report.skipped}, failed {report.failed}"


# ---- command line -------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    topology = load_topology()
    services = sorted(topology.queues)
    parser = commands.add_parser(
        "replay",
        help="re-publish archived events to the topic or to one service's queue",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_selection_arguments(parser)
    parser.add_argument(
        "--to",
        default=TOPIC,
        choices=[TOPIC, *services],
        metavar="TARGET",
        help=f"'{TOPIC}' (default: every consumer, routed by filter policies) or one service: {', '.join(services)}",
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    parser.add_argument(
        "--max", type=positive_int, dest="max_events", metavar="N", help="send at most the N first-arrived events"
    )
    parser.add_argument(
        "--all", action="store_true", dest="whole_archive", help="replay the whole archive (no --since/--until)"
    )
    parser.add_argument(
        "--rate",
        type=positive_float,
        default=DEFAULT_EVENTS_PER_SECOND,
        metavar="PER_SECOND",
        help=f"send at most this many events per second (default {DEFAULT_EVENTS_PER_SECOND:g})",
    )
    parser.set_defaults(run=_run)


def _target(name: str, topology: Topology, sqs: Any) -> Target:
    if name == TOPIC:
        arn = resolve_topic_arn(make_client("sts"), topology.topic_name, aws_region())
        return TopicTarget(arn, topology.message_type_attribute)
    spec = topology.queue_for(name)
    # An operator wants a missing queue reported now, not retried for a minute.
    url = queue_url(sqs, spec.name, wait_seconds=0)
    return QueueTarget(name, url, spec.event_types, topology.message_type_attribute)


def _run(args: argparse.Namespace) -> int:
    if not (args.since or args.until or args.whole_archive):
        print("replay needs a window (--since and/or --until) or --all for the whole archive", file=sys.stderr)
        return 2
    topology = load_topology()
    s3, sqs, sns = make_client("s3"), make_client("sqs"), make_client("sns")
    report = replay(
        s3,
        sqs,
        sns,
        bucket=topology.bucket_name,
        archive_prefix=topology.event_archive_prefix,
        selection=selection_from(args),
        target=_target(args.to, topology, sqs),
        dry_run=args.dry_run,
        max_events=args.max_events,
        events_per_second=args.rate,
        calendar_requests_since=datetime.now(UTC) - timedelta(days=topology.snapshot_retention_days),
    )
    log.info(
        "replay_finished",
        target=report.target,
        dry_run=report.dry_run,
        found=report.found,
        sent=report.sent,
        skipped=report.skipped,
        failed=report.failed,
    )
    print(summary_table(report))
    print(final_line(report))
    return 1 if report.failed else 0
