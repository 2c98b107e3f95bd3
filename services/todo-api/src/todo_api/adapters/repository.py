"""The unit of work and repositories on SQLAlchemy: one session, one transaction, the outbox in it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from taskoverflow_shared.events import Envelope
from todo_api.adapters import outbox
from todo_api.domain.model import MAX_ID, CalendarJob, Todo
from todo_api.unit_of_work import UnitOfWork


class SqlAlchemyTodoRepository:
    def __init__(self, session: Session, uow: UnitOfWork) -> None:
        self.session = session
        self.uow = uow

    def add(self, todo: Todo) -> None:
        self.session.add(todo)
        self.uow.seen(todo)

    def get(self, todo_id: int, *, for_update: bool = False) -> Todo | None:
        if not 0 < todo_id <= MAX_ID:  # the column is 64-bit: a larger id cannot even be compared
            return None
        todo = self.session.get(Todo, todo_id, with_for_update=for_update)
        if todo is not None:
            self.uow.seen(todo)
        return todo

    def remove(self, todo: Todo) -> None:
        self.session.delete(todo)


class SqlAlchemyCalendarJobRepository:
    def __init__(self, session: Session, uow: UnitOfWork) -> None:
        self.session = session
        self.uow = uow

    def add(self, job: CalendarJob) -> None:
        self.session.add(job)
        self.uow.seen(job)

    def get(self, job_id: str, *, for_update: bool = False) -> CalendarJob | None:
        job = self.session.get(CalendarJob, job_id, with_for_update=for_update)
        if job is not None:
            self.uow.seen(job)
        return job


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
