"""The unit of work the handlers depend on: repositories, and one commit for a change and its events.

`commit` collects the events the entities recorded; its `publisher` maps them to envelopes, and
`_write` stores those in the outbox in the same transaction as the change (eShop's
integration-event log, cosmicpython's unit of work). The handlers never see SQLAlchemy, so they
run on fakes in tests.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, Self

from taskoverflow_shared.events import Envelope, TodoChanged
from todo_api.domain.commands import IdempotencyKey
from todo_api.domain.model import CalendarJob, CalendarJobEvent, Todo

DomainEvent = TodoChanged | CalendarJobEvent


class TodoRepository(Protocol):
    def add(self, todo: Todo) -> None: ...

    def get(self, todo_id: int, *, for_update: bool = False) -> Todo | None: ...

    def remove(self, todo: Todo) -> None: ...


class CalendarJobRepository(Protocol):
    def add(self, job: CalendarJob) -> None: ...

    def get(self, job_id: str, *, for_update: bool = False) -> CalendarJob | None: ...

    def unfinished_requested_before(self, moment: datetime, limit: int) -> list[CalendarJob]:
        """Up to `limit` unfinished jobs requested before `moment`, oldest first, locked for update
        (jobs another transaction holds are skipped: the next sweep takes them)."""
        ...

    def delete_finished_before(self, moment: datetime, limit: int) -> int:
        """Delete up to `limit` jobs that finished before `moment`; return how many went."""
        ...


class IdempotencyKeyRepository(Protocol):
    def answer(self, key: IdempotencyKey) -> dict[str, Any] | None:
        """What the first request with this key (and owner) caused; None for a new key.
        IdempotencyKeyReused if that request was another one."""
        ...

    def add(self, key: IdempotencyKey, answer: dict[str, Any]) -> None:
        """Remember `answer` for `key`; IdempotencyKeyInUse if a concurrent request stored it first."""
        ...

    def delete_received_before(self, moment: datetime, limit: int) -> int:
        """Delete up to `limit` keys received before `moment`; return how many went."""
        ...


class EventPublisher(Protocol):
    def envelopes(self, events: Sequence[DomainEvent], correlation_id: str) -> list[Envelope]:
        """The envelopes that announce `events`, in their order, for the outbox."""
        ...


class UnitOfWork(abc.ABC):
    """One transaction. Leaving the `with` block without `commit` rolls everything back."""

    publisher: EventPublisher
    todos: TodoRepository
    jobs: CalendarJobRepository
    idempotency_keys: IdempotencyKeyRepository

    def __enter__(self) -> Self:
        self._seen: list[Todo | CalendarJob] = []
        return self

    def __exit__(self, *_exc: object) -> None:
        self.rollback()

    def seen(self, entity: Todo | CalendarJob) -> None:
        """Remember an entity whose events the commit must write (repositories call this)."""
        self._seen.append(entity)

    def collect_new_events(self) -> list[DomainEvent]:
        """The events the entities seen so far recorded, released once."""
        return [event for entity in self._seen for event in entity.release_events()]

    def commit(self, correlation_id: str, answering: IdempotencyKey | None = None) -> list[Envelope]:
        """Store the changes and their events together; return the envelopes written.

        With `answering`, the key is stored too, in the same transaction, with the data of the
        (one) event: a repeat of the request is answered with what this one caused."""
        self._flush()  # a new todo gets its id here, and its event needs it
        envelopes = self.publisher.envelopes(self.collect_new_events(), correlation_id)
        self._write(envelopes)
        if answering is not None:
            (envelope,) = envelopes
            self.idempotency_keys.add(answering, envelope.data)
        self._commit()
        return envelopes

    @abc.abstractmethod
    def _flush(self) -> None: ...

    @abc.abstractmethod
    def _write(self, envelopes: Iterable[Envelope]) -> None: ...

    @abc.abstractmethod
    def _commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
