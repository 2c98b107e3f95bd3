"""The unit of work and repositories on SQLAlchemy: one session, one transaction, the outbox in it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from taskoverflow_shared.events import Envelope
from todo_api.adapters import outbox
from todo_api.adapters.cloudevents_publisher import CloudEventsPublisher
from todo_api.adapters.orm import calendar_jobs, idempotency_keys
from todo_api.domain.commands import IdempotencyKey
from todo_api.domain.model import MAX_ID, CalendarJob, IdempotencyKeyInUse, IdempotencyKeyReused, JobStatus, Todo
from todo_api.unit_of_work import EventPublisher, UnitOfWork

Entity = TypeVar("Entity", Todo, CalendarJob)


class _Repository(Generic[Entity]):
    """Entities of one mapped class; the unit of work sees every one added or loaded."""

    entity: type[Entity]

    def __init__(self, session: Session, uow: UnitOfWork) -> None:
        self.session = session
        self.uow = uow

    def add(self, entity: Entity) -> None:
        self.session.add(entity)
        self.uow.seen(entity)

    def get(self, key: Any, *, for_update: bool = False) -> Entity | None:
        entity = self.session.get(self.entity, key, with_for_update=for_update)
        if entity is not None:
            self.uow.seen(entity)
        return entity


class SqlAlchemyTodoRepository(_Repository[Todo]):
    entity = Todo

    def get(self, key: Any, *, for_update: bool = False) -> Todo | None:
        if not 0 < key <= MAX_ID:  # the column is 64-bit: a larger id cannot even be compared
            return None
        return super().get(key, for_update=for_update)

    def remove(self, todo: Todo) -> None:
        self.session.delete(todo)


class SqlAlchemyCalendarJobRepository(_Repository[CalendarJob]):
    entity = CalendarJob

    def unfinished_requested_before(self, moment: datetime, limit: int) -> list[CalendarJob]:
        # SKIP LOCKED: a job the consumer is recording a result for right now is left to it; if
        # it stays unfinished, the next sweep takes it. (SQLite ignores it: one writer at a time.)
        jobs = self.session.scalars(
            select(CalendarJob)
            .where(
                calendar_jobs.c.status.not_in([JobStatus.SUCCESS, JobStatus.FAILURE]),
                calendar_jobs.c.requested_at < moment,
            )
            .order_by(calendar_jobs.c.requested_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for job in jobs:
            self.uow.seen(job)
        return list(jobs)

    def delete_finished_before(self, moment: datetime, limit: int) -> int:
        # In batches of ids rather than one DELETE of every old row, so a backlog of months
        # never holds a long lock or a huge transaction.
        batch = (
            select(calendar_jobs.c.id)
            .where(calendar_jobs.c.finished_at < moment)
            .order_by(calendar_jobs.c.finished_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = self.session.scalars(batch).all()
        if ids:
            self.session.execute(delete(calendar_jobs).where(calendar_jobs.c.id.in_(ids)))
        return len(ids)


class SqlAlchemyIdempotencyKeyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def answer(self, key: IdempotencyKey) -> dict[str, Any] | None:
        # Core on the session's connection: a key is a row, not an entity, so no autoflush is due.
        stored = select(idempotency_keys.c.fingerprint, idempotency_keys.c.answer).where(
            idempotency_keys.c.owner == _owner_column(key), idempotency_keys.c.key == key.value
        )
        row = self.session.connection().execute(stored).first()
        if row is None:
            return None
        if row.fingerprint != key.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used with another request: send a new key for a new request"
            )
        return json.loads(row.answer)

    def add(self, key: IdempotencyKey, answer: dict[str, Any]) -> None:
        # A concurrent request with the same key waits here for the first one's transaction
        # (the primary key), then fails: it must not make its change a second time.
        try:
            self.session.connection().execute(
                insert(idempotency_keys).values(
                    owner=_owner_column(key),
                    key=key.value,
                    fingerprint=key.fingerprint,
                    answer=json.dumps(answer, separators=(",", ":")),
                    received_at=key.received_at,
                )
            )
        except IntegrityError:
            raise IdempotencyKeyInUse(
                "another request with this Idempotency-Key was being handled: send this one again"
            ) from None

    def delete_received_before(self, moment: datetime, limit: int) -> int:
        batch = (
            select(idempotency_keys.c.owner, idempotency_keys.c.key)
            .where(idempotency_keys.c.received_at < moment)
            .order_by(idempotency_keys.c.received_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        keys = [tuple(row) for row in self.session.execute(batch)]
        if keys:
            self.session.execute(
                delete(idempotency_keys).where(tuple_(idempotency_keys.c.owner, idempotency_keys.c.key).in_(keys))
            )
        return len(keys)


def _owner_column(key: IdempotencyKey) -> str:
    return key.owner or ""


class SqlAlchemyUnitOfWork(UnitOfWork):
    def __init__(self, session_factory: sessionmaker[Session], publisher: EventPublisher | None = None) -> None:
        self.session_factory = session_factory
        self.publisher = publisher or CloudEventsPublisher()

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self.session.begin()
        self.todos = SqlAlchemyTodoRepository(self.session, self)
        self.jobs = SqlAlchemyCalendarJobRepository(self.session, self)
        self.idempotency_keys = SqlAlchemyIdempotencyKeyRepository(self.session)
        return super().__enter__()

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.session.close()

    def _flush(self) -> None:
        self.session.flush()

    def _write(self, envelopes: Iterable[Envelope]) -> None:
        for envelope in envelopes:
            outbox.record(self.session, envelope)

    def _commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
