"""The transactional outbox: events are rows committed with the change, published later.

`record` runs inside the caller's transaction, so a change and its event commit or roll back
together. The relay claims unpublished rows in order, publishes them and marks them; if SNS is
down the rows simply wait, so writes never fail because of the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from taskoverflow_shared.events import Envelope
from taskoverflow_shared.sns_publisher import EventPublisher
from todo_api.adapters.orm import OutboxRow

log = structlog.get_logger("todo_api.outbox")

EnvelopeCompleter = Callable[[Session, Envelope], Envelope]


def record(session: Session, envelope: Envelope) -> None:
    session.add(
        OutboxRow(
            event_id=envelope.id,
            event_type=envelope.type,
            envelope=envelope.model_dump_json(),
            created_at=datetime.now(UTC),
        )
    )


@dataclass
class OutboxRelay:
    """Moves pending outbox rows to the topic. Several relays may run: rows are claimed with
    SKIP LOCKED on PostgreSQL, so each row goes out through one relay at a time."""

    session_factory: sessionmaker[Session]
    publisher: EventPublisher
    completers: dict[str, EnvelopeCompleter]
    batch_size: int = 100

    def relay_once(self) -> int:
        """Publish one batch; return how many rows were published. Broker errors propagate."""
        with self.session_factory() as session:
            holds_row_locks = session.bind.dialect.name == "postgresql"
            with session.begin():
                query = select(OutboxRow).where(OutboxRow.published_at.is_(None)).order_by(OutboxRow.id)
                query = query.limit(self.batch_size)
                if holds_row_locks:
                    query = query.with_for_update(skip_locked=True)
                pending = [(row.id, Envelope.model_validate_json(row.envelope)) for row in session.scalars(query)]
                if not pending:
                    return 0
                envelopes = [self._completed(session, envelope) for _, envelope in pending]
                if holds_row_locks:
                    return self._publish_and_mark(session, pending, envelopes)
            # SQLite cannot turn a read snapshot into a write once other writers have moved past
            # it, so its single relay publishes outside the read transaction (at least once).
            with session.begin():
                return self._publish_and_mark(session, pending, envelopes)

    def _completed(self, session: Session, envelope: Envelope) -> Envelope:
        completer = self.completers.get(envelope.type)
        return completer(session, envelope) if completer else envelope

    def _publish_and_mark(
        self, session: Session, pending: list[tuple[int, Envelope]], envelopes: list[Envelope]
    ) -> int:
        accepted = self.publisher.publish(envelopes)
        published = [row_id for row_id, envelope in pending if envelope.id in accepted]
        if published:
            now = datetime.now(UTC)
            session.execute(update(OutboxRow).where(OutboxRow.id.in_(published)).values(published_at=now))
        for envelope in envelopes:
            if envelope.id not in accepted:
                log.warning("publish_rejected", event_id=envelope.id, correlation_id=envelope.correlation_id)
        return len(published)


def oldest_pending_age_seconds(session: Session) -> float:
    """Outbox lag: how long the oldest unpublished event has waited (0 when none)."""
    oldest = session.scalar(select(func.min(OutboxRow.created_at)).where(OutboxRow.published_at.is_(None)))
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return (datetime.now(UTC) - oldest).total_seconds()
