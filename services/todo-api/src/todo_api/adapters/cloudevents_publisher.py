"""The unit of work's publisher: the todo-api's domain events as CloudEvents envelopes for the outbox."""

from __future__ import annotations

from collections.abc import Sequence

from taskoverflow_shared.events import CalendarFailed, CalendarRequested, Envelope, TodoChanged, new_envelope
from taskoverflow_shared.tracing import stamped
from todo_api.domain.model import DEADLINE_PASSED, CalendarJobFailedByDeadline
from todo_api.unit_of_work import DomainEvent

SOURCE = "todo-api"


class CloudEventsPublisher:
    """Maps each event to its envelope, stamped with the trace it was caused in."""

    def envelopes(self, events: Sequence[DomainEvent], correlation_id: str) -> list[Envelope]:
        # The trace is stored with the event, so the relay and every consumer continue the
        # request's trace however late they handle it.
        return [stamped(envelope_of(event, correlation_id)) for event in events]


def envelope_of(event: DomainEvent, correlation_id: str) -> Envelope:
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
