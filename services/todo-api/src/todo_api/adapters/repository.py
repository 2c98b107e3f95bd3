"""The unit of work and repositories on SQLAlchemy: one session, one transaction, the outbox in it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Self, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from taskoverflow_shared.events import Envelope
from todo_api.adapters import outbox
from todo_api.domain.model import MAX_ID, CalendarJob, Todo
from todo_api.unit_of_work import UnitOfWork

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


class SqlAlchemyUnitOfWork(UnitOfWork):
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def __enter__(self) -> Self:
        self.session = self.session_factory()
        self.session.begin()
        self.todos = SqlAlchemyTodoRepository(self.session, self)
        self.jobs = SqlAlchemyCalendarJobRepository(self.session, self)
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
