"""The transactional outbox: events are rows committed with the change, published later.

`record` runs inside the caller's transaction, so a change and its event commit or roll back
together. The relay claims pending rows, publishes them and marks them; if SNS is down the rows simply
wait, so writes never fail because of the broker. A row that can never be published is parked
with its reason instead, so it holds nothing up (`taskoverflow outbox list|retry`).

Rows travel in lanes. A client waits on an interactive event (a calendar request), so it must
never queue behind bulk ones (thousands of TodoChanged after an import): the relay claims the
interactive lane first, and `run_relay` gives each lane its own loop. A lane follows from the
event type alone, so every event of one subject is in one lane and keeps its order there.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import Engine, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from taskoverflow_shared.aws_errors import is_retryable
from taskoverflow_shared.events import Envelope
from taskoverflow_shared.sns_publisher import SNS_BATCH_LIMIT, PublishReport, ReportingPublisher, message_group
from taskoverflow_shared.tracing import PublishSpans, working_on
from todo_api.adapters.database import DATABASE_UNAVAILABLE
from todo_api.adapters.orm import OutboxRow
from todo_api.domain.outbox_lanes import ALL_LANES, Lane, lane_of

log = structlog.get_logger("todo_api.outbox")

EnvelopeCompleter = Callable[[Session, Envelope], Envelope]


def record(session: Session, envelope: Envelope) -> None:
    session.add(
        OutboxRow(
            event_id=envelope.id,
            event_type=envelope.type,
            lane=lane_of(envelope.type),
            envelope=envelope.model_dump_json(),
            created_at=datetime.now(UTC),
        )
    )


_outbox = OutboxRow.__table__
_IS_PENDING = (_outbox.c.published_at.is_(None), _outbox.c.parked_at.is_(None))
_ANY_PENDING = select(_outbox.c.id).where(*_IS_PENDING, _outbox.c.lane.in_(bindparam("lanes", expanding=True))).limit(1)
RETENTION_BATCH_ROWS = 500


class PublishIncomplete(Exception):
    """Some rows were refused for now (not for good): the lane should back off before retrying them."""


@dataclass(frozen=True)
class _Claimed:
    id: int
    event_id: str
    attempts: int
    envelope: Envelope


@dataclass
class _RowOutcomes:
    """What a round learnt about its rows, written back in one transaction."""

    completed: dict[int, str] = field(default_factory=dict)  # row id -> the completed envelope's JSON
    parked: dict[int, str] = field(default_factory=dict)  # row id -> why it can never go out
    failed: dict[int, str] = field(default_factory=dict)  # row id -> its own failure, worth another try
    outage: Exception | None = None  # the broker, S3 or the database failing as a whole
    event_ids: dict[int, str] = field(default_factory=dict)  # for the logs


@dataclass
class OutboxRelay:
    """Moves pending outbox rows to the topic. Several relays may run: rows are claimed with
    SKIP LOCKED on PostgreSQL, so each row goes out through one relay at a time.

    A claimed batch is published over up to `publish_threads` concurrent PublishBatch streams
    (boto3 clients are thread-safe). Each subject's rows stay in one stream, in id order, so a
    todo's versions still leave in order, and on a FIFO topic the publisher can still hold a
    group back after a refusal.

    A row that can never go out is parked with its reason; one that failed on its own is tried
    again and parked after `max_attempts`; a broker, S3 or database outage counts against no
    row (see the README's *Outbox row states*). Rows with a completer (calendar requests) are
    completed and the result committed before they are published, so every publish of a row
    sends the same bytes.
    """

    session_factory: sessionmaker[Session]
    # The sessions' engine, for the pending-row probe that needs no session.
    engine: Engine
    publisher: ReportingPublisher
    completers: dict[str, EnvelopeCompleter]
    batch_size: int = 100
    publish_threads: int = 4
    max_attempts: int = 20
    retention: timedelta = timedelta(hours=168)
    _pool: ThreadPoolExecutor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Each lane's loop has publish_threads - 1 streams in the pool at most: room for all
        # lanes at once, so a calendar request never waits for a worker busy with bulk rows.
        workers = max(self.publish_threads - 1, 1) * len(Lane)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="outbox-publish")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def has_pending(self, lanes: Collection[Lane] = ALL_LANES) -> bool:
        """Whether `lanes` hold a pending row: one index probe on a bare connection, so an idle
        relay polls its lanes for a fraction of what a claim costs."""
        with self.engine.connect() as connection:
            return connection.execute(_ANY_PENDING, {"lanes": [int(lane) for lane in lanes]}).first() is not None

    def relay_once(self, lanes: Collection[Lane] = ALL_LANES) -> int:
        """Complete, then publish, one batch from `lanes`, the lowest lane first; return how many
        rows were published. An outage propagates once what did go out has been marked; rows
        refused for now raise PublishIncomplete, so the caller backs off before their retry."""
        outage, not_completed = self._complete_pending(lanes)
        published, refused = self._publish_pending(lanes)
        if outage is not None:
            raise outage
        if refused or not_completed:
            raise PublishIncomplete(
                f"{refused} rows refused and {not_completed} not completed, for now; published {published}"
            )
        return published

    def delete_published_before(self, cutoff: datetime) -> int:
        """Retention: delete published rows older than `cutoff`, in small transactions so that
        writers never wait long behind them. Pending and parked rows are never touched."""
        deleted = 0
        while True:
            oldest = (
                select(OutboxRow.id)
                .where(OutboxRow.published_at < cutoff)
                .order_by(OutboxRow.published_at)
                .limit(RETENTION_BATCH_ROWS)
            )
            with self.session_factory() as session, session.begin():
                result = session.execute(delete(OutboxRow).where(OutboxRow.id.in_(oldest.scalar_subquery())))
            count = result.rowcount or 0  # type: ignore[attr-defined]
            deleted += count
            if count < RETENTION_BATCH_ROWS:
                return deleted

    def forget_old_published(self) -> int:
        deleted = self.delete_published_before(datetime.now(UTC) - self.retention)
        if deleted:
            log.info("outbox_retention_deleted", count=deleted, retention_hours=self.retention.total_seconds() / 3600)
        return deleted

    def _claim(self, session: Session, lanes: Collection[Lane], *conditions: Any) -> list[Any]:
        query = select(OutboxRow.id, OutboxRow.event_id, OutboxRow.attempts, OutboxRow.envelope).where(
            OutboxRow.published_at.is_(None), OutboxRow.parked_at.is_(None), *conditions
        )
        if set(lanes) != set(ALL_LANES):
            query = query.where(OutboxRow.lane.in_([int(lane) for lane in lanes]))
        query = query.order_by(OutboxRow.lane, OutboxRow.id).limit(self.batch_size)
        if _holds_row_locks(session):
            query = query.with_for_update(skip_locked=True)
        return list(session.execute(query))

    def _complete_pending(self, lanes: Collection[Lane]) -> tuple[Exception | None, int]:
        """Complete the claimed rows that need it and commit the result before any is published:
        a publish whose commit is lost is then repeated with the same bytes, never completed
        anew (which would read other todos and could describe another snapshot). Returns the
        outage that stopped it, if any, and how many rows failed on their own."""
        types = [event_type for event_type in self.completers if lane_of(event_type) in lanes]
        if not types:
            return None, 0
        outcomes = _RowOutcomes()
        with self.session_factory() as session:
            attempts: dict[int, int] = {}
            with session.begin():
                rows = self._claim(session, lanes, OutboxRow.completed_at.is_(None), OutboxRow.event_type.in_(types))
                for row_id, event_id, row_attempts, text in rows:
                    attempts[row_id] = row_attempts
                    outcomes.event_ids[row_id] = event_id
                    envelope = _parsed(text, row_id, outcomes)
                    if envelope is None:
                        continue
                    try:
                        with working_on(envelope, "complete"):
                            completed = self.completers[envelope.type](session, envelope)
                    except Exception as error:
                        if _is_outage(error):
                            outcomes.outage = error  # the next rows would only fail the same way
                            break
                        outcomes.failed[row_id] = _described(error)
                        continue
                    outcomes.completed[row_id] = completed.model_dump_json()
                if _holds_row_locks(session):
                    self._record(session, outcomes, attempts)
            if not _holds_row_locks(session) and rows:
                # SQLite: its single relay writes after its read transaction (see _publish_pending).
                with session.begin():
                    self._record(session, outcomes, attempts)
        return outcomes.outage, len(outcomes.failed)

    def _publish_pending(self, lanes: Collection[Lane]) -> tuple[int, int]:
        """Publish one claimed batch and mark it; return (published, refused for now)."""
        # A row that needs completing goes out only once its completion is committed.
        ready = or_(OutboxRow.completed_at.is_not(None), OutboxRow.event_type.not_in(list(self.completers)))
        outcomes = _RowOutcomes()
        with self.session_factory() as session:
            with session.begin():
                claimed: list[_Claimed] = []
                for row_id, event_id, attempts, text in self._claim(session, lanes, ready):
                    outcomes.event_ids[row_id] = event_id
                    envelope = _parsed(text, row_id, outcomes)
                    if envelope is not None:
                        claimed.append(_Claimed(row_id, event_id, attempts, envelope))
                if not claimed and not outcomes.parked:
                    return 0, 0
                if _holds_row_locks(session):
                    published = self._publish_and_mark(session, claimed, outcomes)
            if not _holds_row_locks(session):
                # SQLite cannot turn a read snapshot into a write once other writers have moved
                # past it, so its single relay publishes outside the read transaction (at least
                # once). Its lanes claim disjoint rows: their loops never publish a row twice.
                with session.begin():
                    published = self._publish_and_mark(session, claimed, outcomes)
        if outcomes.outage is not None:
            raise outcomes.outage
        return published, len(outcomes.failed)

    def _publish_and_mark(self, session: Session, claimed: list[_Claimed], outcomes: _RowOutcomes) -> int:
        """Mark what the topic accepted, even when a stream failed: the retry then re-publishes
        only what may not have gone out. Refused rows are parked or counted."""
        report = PublishReport()
        if claimed:
            envelopes = [row.envelope for row in claimed]
            # Each row's publish is a span in the trace its envelope was recorded in.
            with PublishSpans(envelopes) as spans:
                report, outcomes.outage = self._publish(envelopes)
                spans.settle(report.accepted, outcomes.outage)
        published = [row.id for row in claimed if row.envelope.id in report.accepted]
        if published:
            now = datetime.now(UTC)
            session.execute(update(OutboxRow).where(OutboxRow.id.in_(published)).values(published_at=now))
        for row in claimed:
            rejection = report.rejected.get(row.envelope.id)
            if rejection is not None:
                reason = f"{rejection.code}: {rejection.message}"
                (outcomes.parked if rejection.permanent else outcomes.failed)[row.id] = reason
        self._record(session, outcomes, {row.id: row.attempts for row in claimed})
        return len(published)

    def _record(self, session: Session, outcomes: _RowOutcomes, attempts: dict[int, int]) -> None:
        now = datetime.now(UTC)
        for row_id, text in outcomes.completed.items():
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id, OutboxRow.completed_at.is_(None))
                .values(envelope=text, completed_at=now)
            )
        parked = dict(outcomes.parked)
        for row_id, error in outcomes.failed.items():
            tries = attempts.get(row_id, 0) + 1
            if tries >= self.max_attempts:
                parked[row_id] = f"gave up after {tries} attempts; last error: {error}"
            else:
                session.execute(
                    update(OutboxRow).where(OutboxRow.id == row_id).values(attempts=tries, last_error=error)
                )
                log.warning(
                    "outbox_row_failed",
                    row_id=row_id,
                    event_id=outcomes.event_ids.get(row_id),
                    attempts=tries,
                    error=error,
                )
        for row_id, reason in parked.items():
            session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == row_id)
                .values(
                    parked_at=now,
                    parked_reason=reason,
                    last_error=reason,
                    attempts=OutboxRow.attempts + (1 if row_id in outcomes.failed else 0),
                )
            )
            log.error("outbox_row_parked", row_id=row_id, event_id=outcomes.event_ids.get(row_id), reason=reason)

    def _publish(self, envelopes: list[Envelope]) -> tuple[PublishReport, Exception | None]:
        """Publish the streams side by side: the first in this thread, the others in the pool."""
        first, *others = publish_streams(envelopes, self.publish_threads)
        futures: list[Future[PublishReport]] = [
            self._pool.submit(self.publisher.publish_reporting, stream) for stream in others
        ]
        report = PublishReport()
        error: Exception | None = None
        try:
            _merge(report, self.publisher.publish_reporting(first))
        except Exception as failure:
            error = failure
        for future in futures:
            try:
                _merge(report, future.result())
            except Exception as failure:
                error = error or failure
        return report, error


def _holds_row_locks(session: Session) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def _parsed(text: str, row_id: int, outcomes: _RowOutcomes) -> Envelope | None:
    """The row's envelope, or None with the row marked for parking: what fails validation now
    will fail it on every try."""
    try:
        return Envelope.model_validate_json(text)
    except ValidationError as invalid:
        outcomes.parked[row_id] = f"the stored envelope is not valid: {_described(invalid)}"
        return None


def _is_outage(error: Exception) -> bool:
    """A failure of what the row goes to (S3, the database), not of the row itself."""
    return is_retryable(error) or isinstance(error, DATABASE_UNAVAILABLE)


def _described(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 2000 else text[:1997] + "..."


def _merge(into: PublishReport, report: PublishReport) -> None:
    into.accepted |= report.accepted
    into.rejected.update(report.rejected)


def publish_streams(envelopes: Sequence[Envelope], most: int) -> list[list[Envelope]]:
    """Split `envelopes` into at most `most` streams that may be published concurrently.

    A subject (the FIFO message group) never spans two streams, and every stream keeps the
    outbox order. That order also keeps a todo's versions as far apart as they were written, so
    they seldom share a PublishBatch: the publisher can hold a group back after a refusal only
    in later batches. Streams are filled up to a multiple of the 10 entries of a PublishBatch,
    so that concurrency costs no extra, half-empty requests.
    """
    sizes: dict[str, int] = {}
    for envelope in envelopes:
        group = message_group(envelope)
        sizes[group] = sizes.get(group, 0) + 1
    per_stream = -(-len(envelopes) // max(most, 1))
    target = -(-per_stream // SNS_BATCH_LIMIT) * SNS_BATCH_LIMIT
    stream_of: dict[str, int] = {}
    filled = [0]
    for group, size in sizes.items():
        if filled[-1] and filled[-1] + size > target and len(filled) < most:
            filled.append(0)
        stream_of[group] = len(filled) - 1
        filled[-1] += size
    streams: list[list[Envelope]] = [[] for _ in filled]
    for envelope in envelopes:
        streams[stream_of[message_group(envelope)]].append(envelope)
    return streams
