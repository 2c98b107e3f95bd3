"""The todo API's use cases: one plain function per command or consumed event, in `HANDLERS`.

Each runs in one unit of work, so a change and its events commit together. Dependencies come in
by name from `bootstrap` (`uow`, `now`, `calendar_job_deadline_seconds`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from taskoverflow_shared.events import CalendarFailed, CalendarReady, TodoState
from todo_api.domain.commands import CreateTodo, DeleteTodo, RequestCalendar, UpdateTodo
from todo_api.domain.model import (
    CalendarJob,
    CalendarResult,
    NotFound,
    Report,
    Todo,
    calendar_recipient,
    visible_to,
)
from todo_api.unit_of_work import UnitOfWork

Clock = Callable[[], datetime]

log = structlog.get_logger("todo_api.handlers")


def create_todo(command: CreateTodo, uow: UnitOfWork, now: Clock) -> TodoState:
    """Store a new todo and its TodoChanged{created}; return it as stored (with its id)."""
    with uow:
        todo = Todo.create(now=now(), owner=command.owner, **command.todo.model_dump())
        uow.todos.add(todo)
        return _committed(uow, todo, command.correlation_id)


def update_todo(command: UpdateTodo, uow: UnitOfWork, now: Clock) -> TodoState:
    """Apply a partial change, bump the version, record TodoChanged{updated}; NotFound if absent."""
    with uow:
        todo = _todo(uow, command.todo_id, command.owner)
        todo.change(command.changes.fields(), now())
        return _committed(uow, todo, command.correlation_id)


def delete_todo(command: DeleteTodo, uow: UnitOfWork) -> TodoState:
    """Delete a todo and announce it as it was (TodoChanged{deleted}); NotFound if absent."""
    with uow:
        todo = _todo(uow, command.todo_id, command.owner)
        todo.delete()
        uow.todos.remove(todo)
        return _committed(uow, todo, command.correlation_id)


def request_calendar(command: RequestCalendar, uow: UnitOfWork, now: Clock) -> str:
    """Open a job; its CalendarRequested leaves bare and the relay adds the owner's todos (O(1) here)."""
    notify_email = calendar_recipient(command.request.notify_email, command.owner, command.verified_email)
    with uow:
        job = CalendarJob.open(str(uuid.uuid4()), notify_email, now(), command.owner)
        uow.jobs.add(job)
        (envelope,) = uow.commit(command.correlation_id)
    log.info("calendar_requested", job_id=job.id, emitted_event_id=envelope.id)
    return job.id


def on_calendar_ready(event: CalendarReady, uow: UnitOfWork, now: Clock, calendar_job_deadline_seconds: float) -> None:
    """The worker stored the calendar: the job succeeds (unless already finished or overdue)."""
    result = CalendarResult(event.bucket, event.key, event.size_bytes, event.sha256, event.event_count)
    _report(event.job_id, result, uow, now, calendar_job_deadline_seconds)


def on_calendar_failed(
    event: CalendarFailed, uow: UnitOfWork, now: Clock, calendar_job_deadline_seconds: float
) -> None:
    """The worker gave up: the job fails with its reason (unless already finished)."""
    _report(event.job_id, event.reason, uow, now, calendar_job_deadline_seconds)


def _report(job_id: str, outcome: CalendarResult | str, uow: UnitOfWork, now: Clock, deadline_seconds: float) -> None:
    """Idempotent: a finished job stays as it is, so redelivered and late reports change nothing."""
    with uow:
        job = uow.jobs.get(job_id, for_update=True)
        if job is None:
            log.warning("calendar_job_unknown", job_id=job_id)
            return
        report = job.report(outcome, now(), deadline_seconds)
        if report is Report.ALREADY_FINISHED:
            log.info("calendar_job_already_finished", job_id=job_id, status=job.status)
            return
        if report is Report.LATE:
            # Clients have read FAILURE since the deadline passed: the report must not undo that.
            log.warning("calendar_job_reported_after_deadline", job_id=job_id)
        uow.commit(correlation_id="")  # no events: a finished job announces nothing


def _todo(uow: UnitOfWork, todo_id: int, requester: str | None) -> Todo:
    todo = uow.todos.get(todo_id, for_update=True)
    if todo is None or not visible_to(todo.owner, requester):
        raise NotFound(f"todo {todo_id} not found")
    return todo


def _committed(uow: UnitOfWork, todo: Todo, correlation_id: str) -> TodoState:
    (envelope,) = uow.commit(correlation_id)
    state = todo.state()
    log.info(
        "todo_changed",
        todo_id=todo.id,
        action=envelope.data["action"],
        version=todo.version,
        emitted_event_id=envelope.id,
    )
    return state


Handler = Callable[..., Any]

HANDLERS: dict[type, Handler] = {
    CreateTodo: create_todo,
    UpdateTodo: update_todo,
    DeleteTodo: delete_todo,
    RequestCalendar: request_calendar,
    CalendarReady: on_calendar_ready,
    CalendarFailed: on_calendar_failed,
}
