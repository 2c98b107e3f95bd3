"""The transactional outbox: events are rows committed with the change, published later.

`record` runs inside the caller's transaction, so a change and its event commit or roll back
together. The relay claims unpublished rows, publishes them and marks them; if SNS is down the
rows simply wait, so writes never fail because of the broker.

Rows travel in lanes. A client waits on an interactive event (a calendar request), so it must
never queue behind bulk ones (thousands of TodoChanged after an import): the relay claims the
interactive lane first, and `run_relay` gives each lane its own loop. A lane follows from the
event type alone, so every event of one subject is in one lane and keeps its order there.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from taskoverflow_shared.events import CalendarFailed, CalendarRequested, Envelope
from taskoverflow_shared.sns_publisher import SNS_BATCH_LIMIT, EventPublisher, message_group
from taskoverflow_shared.tracing import PublishSpans
from todo_api.adapters.orm import OutboxRow

log = structlog.get_logger("todo_api.outbox")

EnvelopeCompleter = Callable[[Session, Envelope], Envelope]


class Lane(enum.IntEnum):
    """The order in which a relay claims pending rows: the lower lane first."""

    INTERACTIVE = 0
    BULK = 1


# Events someone is waiting on. Add a type here (and nowhere else) to let it jump the bulk
# lane; a type must not share a subject with events of the other lane, or their order breaks.
# The todo-api's CalendarFailed (a deadline the sweeper enforced) has its request's subject, and
# its requester is waiting for the mail.
INTERACTIVE_EVENT_TYPES = frozenset({CalendarRequested.event_type, CalendarFailed.event_type})
ALL_LANES = tuple(Lane)


def lane_of(event_type: str) -> Lane:
    return Lane.INTERACTIVE if event_type in INTERACTIVE_EVENT_TYPES else Lane.BULK


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
_ANY_PENDING = (
    select(_outbox.c.id)
    .where(_outbox.c.published_at.is_(None), _outbox.c.lane.in_(bindparam("lanes", expanding=True)))
    .limit(1)
)


@dataclass
class OutboxRelay:
    """Moves pending outbox rows to the topic. Several relays may run: rows are claimed with
    SKIP LOCKED on PostgreSQL, so each row goes out through one relay at a time.

    A claimed batch is published over up to `publish_threads` concurrent PublishBatch streams
    (boto3 clients are thread-safe). Each subject's rows stay in one stream, in id order, so a
    todo's versions still leave in order, and on a FIFO topic the publisher can still hold a
    group back after a refusal.
    """

    session_factory: sessionmaker[Session]
    publisher: EventPublisher
    completers: dict[str, EnvelopeCompleter]
    batch_size: int = 100
    publish_threads: int = 4
    _pool: ThreadPoolExecutor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Each lane's loop has publish_threads - 1 streams in the pool at most: room for all
        # lanes at once, so a calendar request never waits for a worker busy with bulk rows.
        workers = max(self.publish_threads - 1, 1) * len(Lane)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="outbox-publish")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def has_pending(self, lanes: Collection[Lane] = ALL_LANES) -> bool:
        """Whether `lanes` hold an unpublished row: one index probe on a bare connection, so
        an idle relay polls its lanes for a fraction of what a claim costs."""
        with self.session_factory.kw["bind"].connect() as connection:
            return connection.execute(_ANY_PENDING, {"lanes": [int(lane) for lane in lanes]}).first() is not None

    def relay_once(self, lanes: Collection[Lane] = ALL_LANES) -> int:
        """Publish one batch from `lanes`, the lowest lane first; return how many rows were
        published. A broker error propagates, once what did go out has been marked."""
        with self.session_factory() as session, ExitStack() as stack:
            holds_row_locks = session.bind.dialect.name == "postgresql"
            with session.begin():
                query = select(OutboxRow).where(OutboxRow.published_at.is_(None))
                if set(lanes) != set(ALL_LANES):
                    query = query.where(OutboxRow.lane.in_([int(lane) for lane in lanes]))
                query = query.order_by(OutboxRow.lane, OutboxRow.id).limit(self.batch_size)
                if holds_row_locks:
                    query = query.with_for_update(skip_locked=True)
                pending = [(row.id, Envelope.model_validate_json(row.envelope)) for row in session.scalars(query)]
                if not pending:
                    return 0
                # Each row's publish is a span in the trace its envelope was recorded in.
                spans = stack.enter_context(PublishSpans([envelope for _, envelope in pending]))
                envelopes = [self._completed(session, envelope, spans) for _, envelope in pending]
                if holds_row_locks:
                    published, error = self._publish_and_mark(session, pending, envelopes, spans)
            if not holds_row_locks:
                # SQLite cannot turn a read snapshot into a write once other writers have moved
                # past it, so its single relay publishes outside the read transaction (at least
                # once). Its lanes claim disjoint rows: their loops never publish a row twice.
                with session.begin():
                    published, error = self._publish_and_mark(session, pending, envelopes, spans)
        if error is not None:
            raise error
        return published

    def _completed(self, session: Session, envelope: Envelope, spans: PublishSpans) -> Envelope:
        completer = self.completers.get(envelope.type)
        if completer is None:
            return envelope
        with spans.during(envelope):
            return completer(session, envelope)

    def _publish_and_mark(
        self, session: Session, pending: list[tuple[int, Envelope]], envelopes: list[Envelope], spans: PublishSpans
    ) -> tuple[int, Exception | None]:
        """Mark what the topic accepted, even when a stream failed: the retry then re-publishes
        only what may not have gone out."""
        accepted, error = self._publish(envelopes)
        spans.settle(accepted, error)
        published = [row_id for row_id, envelope in pending if envelope.id in accepted]
        if published:
            now = datetime.now(UTC)
            session.execute(update(OutboxRow).where(OutboxRow.id.in_(published)).values(published_at=now))
        if error is None:
            for envelope in envelopes:
                if envelope.id not in accepted:
                    log.warning("publish_rejected", event_id=envelope.id, correlation_id=envelope.correlation_id)
        return len(published), error

    def _publish(self, envelopes: list[Envelope]) -> tuple[set[str], Exception | None]:
        """Publish the streams side by side: the first in this thread, the others in the pool."""
        first, *others = publish_streams(envelopes, self.publish_threads)
        futures: list[Future[set[str]]] = [self._pool.submit(self.publisher.publish, stream) for stream in others]
        accepted: set[str] = set()
        error: Exception | None = None
        try:
            accepted |= self.publisher.publish(first)
        except Exception as failure:
            error = failure
        for future in futures:
            try:
                accepted |= future.result()
            except Exception as failure:
                error = error or failure
        return accepted, error


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
