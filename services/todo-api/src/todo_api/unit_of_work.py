"""The unit of work the handlers depend on: repositories, and one commit for a change and its events.

`commit` turns the events the entities recorded into envelopes and hands them to `_write`, which
stores them in the outbox in the same transaction as the change (eShop's integration-event log,
cosmicpython's unit of work). The handlers never see SQLAlchemy, so they run on fakes in tests.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, Self

from taskoverflow_shared.events import CalendarFailed, CalendarRequested, Envelope, TodoChanged, new_envelope
from taskoverflow_shared.tracing import stamped
from todo_api.domain.commands import IdempotencyKey
from todo_api.domain.model import DEADLINE_PASSED, CalendarJob, CalendarJobFailedByDeadline, CalendarJobRequested, Todo

SOURCE = "todo-api"


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


class UnitOfWork(abc.ABC):
    """One transaction. Leaving the `with` block without `commit` rolls everything back."""

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

    def commit(self, correlation_id: str, answering: IdempotencyKey | None = None) -> list[Envelope]:
        """Store the changes and their events together; return the envelopes written.

        With `answering`, the key is stored too, in the same transaction, with the data of the
        (one) event: a repeat of the request is answered with what this one caused."""
        self._flush()  # a new todo gets its id here, and its event needs it
        # Each event carries the trace it was caused in, stored with it, so the relay and every
        # consumer continue the request's trace however late they handle it.
        envelopes = [
            stamped(envelope_of(event, correlation_id)) for entity in self._seen for event in entity.release_events()
        ]
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


def envelope_of(
    event: TodoChanged | CalendarJobRequested | CalendarJobFailedByDeadline, correlation_id: str
) -> Envelope:
    if isinstance(event, TodoChanged):
        return new_envelope(event, source=SOURCE, correlation_id=correlation_id, subject=f"todos/{event.todo.id}")
    if isinstance(event, CalendarJobFailedByDeadline):
        failed = CalendarFailed(
            job_id=event.job_id, reason=DEADLINE_PASSED, notify_email=event.notify_email, deadline_passed=True
        )
        # A job fails by its deadline at most once: its id, derived from the job's, says so to
        # every consumer that deduplicates by event id, whatever happens to this row later.
        return new_envelope(
            failed,
            source=SOURCE,
            correlation_id=correlation_id,
            subject=f"calendars/{event.job_id}",
            caused_by=f"deadline/{event.job_id}",
        )
    # Bare on purpose: the relay's completer adds the todos (inline or by claim check) at publish time.
    return Envelope(
        type=CalendarRequested.event_type,
        source=SOURCE,
        subject=f"calendars/{event.job_id}",
        schema_version=CalendarRequested.schema_version,
        correlation_id=correlation_id,
        data={"job_id": event.job_id, "notify_email": event.notify_email, "owner": event.owner},
    )
