"""In-memory stand-ins for the unit of work and its repositories: the handlers' rules, no database."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from taskoverflow_shared.events import Envelope
from todo_api.adapters.cloudevents_publisher import CloudEventsPublisher
from todo_api.domain.commands import IdempotencyKey
from todo_api.domain.model import CalendarJob, IdempotencyKeyReused, JobStatus, Todo
from todo_api.unit_of_work import UnitOfWork


class FakeTodoRepository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.stored: dict[int, Todo] = {}
        self._ids = itertools.count(1)

    def add(self, todo: Todo) -> None:
        todo.id = next(self._ids)  # the database's autoincrement
        self.stored[todo.id] = todo
        self.uow.seen(todo)

    def get(self, todo_id: int, *, for_update: bool = False) -> Todo | None:
        todo = self.stored.get(todo_id)
        if todo is not None:
            self.uow.seen(todo)
        return todo

    def remove(self, todo: Todo) -> None:
        del self.stored[todo.id]


class FakeCalendarJobRepository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.uow = uow
        self.stored: dict[str, CalendarJob] = {}

    def add(self, job: CalendarJob) -> None:
        self.stored[job.id] = job
        self.uow.seen(job)

    def get(self, job_id: str, *, for_update: bool = False) -> CalendarJob | None:
        job = self.stored.get(job_id)
        if job is not None:
            self.uow.seen(job)
        return job

    def unfinished_requested_before(self, moment: datetime, limit: int) -> list[CalendarJob]:
        unfinished = [job for job in self.stored.values() if not JobStatus(job.status).finished]
        jobs = sorted((job for job in unfinished if job.requested_at < moment), key=lambda job: job.requested_at)
        for job in jobs[:limit]:
            self.uow.seen(job)
        return jobs[:limit]

    def delete_finished_before(self, moment: datetime, limit: int) -> int:
        expired = [job.id for job in self.stored.values() if job.finished_at is not None and job.finished_at < moment]
        for job_id in expired[:limit]:
            del self.stored[job_id]
        return len(expired[:limit])


class FakeIdempotencyKeyRepository:
    def __init__(self) -> None:
        self.stored: dict[tuple[str | None, str], tuple[IdempotencyKey, dict[str, Any]]] = {}

    def answer(self, key: IdempotencyKey) -> dict[str, Any] | None:
        earlier = self.stored.get((key.owner, key.value))
        if earlier is None:
            return None
        if earlier[0].fingerprint != key.fingerprint:
            raise IdempotencyKeyReused("another request")
        return earlier[1]

    def add(self, key: IdempotencyKey, answer: dict[str, Any]) -> None:
        self.stored[(key.owner, key.value)] = (key, answer)

    def delete_received_before(self, moment: datetime, limit: int) -> int:
        old = sorted((k for k, (key, _) in self.stored.items() if key.received_at < moment), key=str)[:limit]
        for k in old:
            del self.stored[k]
        return len(old)


class FakeUnitOfWork(UnitOfWork):
    """One instance plays every transaction, so a test can look at what was stored and sent."""

    def __init__(self) -> None:
        self.todos = FakeTodoRepository(self)
        self.jobs = FakeCalendarJobRepository(self)
        self.idempotency_keys = FakeIdempotencyKeyRepository()
        self.publisher = CloudEventsPublisher()
        self.outbox: list[Envelope] = []
        self.commits = 0

    def _flush(self) -> None:
        pass

    def _write(self, envelopes: Iterable[Envelope]) -> None:
        self.outbox.extend(envelopes)

    def _commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        pass


class FakeClock:
    """The time, moved on by the test."""

    def __init__(self, start: datetime = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
