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
        with self.session_factory() as session, session.begin():
            query = select(OutboxRow).where(OutboxRow.published_at.is_(None)).order_by(OutboxRow.id)
            query = query.limit(self.batch_size)
            if session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = session.scalars(query).all()
            if not rows:
                return 0
            envelopes = []
            for row in rows:
                envelope = Envelope.model_validate_json(row.envelope)
                completer = self.completers.get(row.event_type)
                envelopes.append(completer(session, envelope) if completer else envelope)
            accepted = self.publisher.publish(envelopes)
            now = datetime.now(UTC)
            published = [row.id for row in rows if row.event_id in accepted]
            if published:
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
