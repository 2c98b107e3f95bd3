"""The todo API's use cases: one plain function per command or consumed event, in `HANDLERS`.

Each runs in one unit of work, so a change and its events commit together. Dependencies come in
by name from `bootstrap` (`uow`, `now`, `calendar_job_deadline_seconds`, `calendar_job_retention`,
`idempotency_key_retention`, `metrics`, `calendar_locations`).

A command may carry the client's Idempotency-Key. Its handler looks for the key first, in the
same transaction: a request seen before is answered from what it caused then, and changes
nothing. A new key is stored by the commit, with the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from taskoverflow_shared.events import CalendarFailed, CalendarReady, TodoState, UnprocessableEvent
from taskoverflow_shared.metrics import Metrics
from todo_api.domain.commands import (
    CreateTodo,
    DeleteTodo,
    FailOverdueCalendarJobs,
    ForgetFinishedCalendarJobs,
    ForgetOldIdempotencyKeys,
    IdempotencyKey,
    RequestCalendar,
    UpdateTodo,
)
from todo_api.domain.model import (
    CalendarJob,
    CalendarLocations,
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
        if (earlier := _earlier_answer(uow, command.idempotency_key)) is not None:
            return TodoState.model_validate(earlier["todo"])
        todo = Todo.create(now=now(), owner=command.owner, **command.todo.model_dump())
        uow.todos.add(todo)
        return _committed(uow, todo, command)


def update_todo(command: UpdateTodo, uow: UnitOfWork, now: Clock) -> TodoState:
    """Apply a partial change, bump the version, record TodoChanged{updated}; NotFound if absent."""
    with uow:
        if (earlier := _earlier_answer(uow, command.idempotency_key)) is not None:
            return TodoState.model_validate(earlier["todo"])
        todo = _todo(uow, command.todo_id, command.owner)
        todo.change(command.changes.fields(), now())
        return _committed(uow, todo, command)


def delete_todo(command: DeleteTodo, uow: UnitOfWork) -> TodoState:
    """Delete a todo and announce it as it was (TodoChanged{deleted}); NotFound if absent.
    A repeat with the same Idempotency-Key answers as the first time, though the todo is gone."""
    with uow:
        if (earlier := _earlier_answer(uow, command.idempotency_key)) is not None:
            return TodoState.model_validate(earlier["todo"])
        todo = _todo(uow, command.todo_id, command.owner)
        todo.delete()
        uow.todos.remove(todo)
        return _committed(uow, todo, command)


def request_calendar(command: RequestCalendar, uow: UnitOfWork, now: Clock) -> str:
    """Open a job; its CalendarRequested leaves bare and the relay adds the owner's todos (O(1) here)."""
    notify_email = calendar_recipient(command.request.notify_email, command.owner, command.verified_email)
    with uow:
        if (earlier := _earlier_answer(uow, command.idempotency_key)) is not None:
            return str(earlier["job_id"])
        job = CalendarJob.open(str(uuid.uuid4()), notify_email, now(), command.owner)
        uow.jobs.add(job)
        (envelope,) = uow.commit(command.correlation_id, answering=command.idempotency_key)
    log.info("calendar_requested", job_id=job.id, emitted_event_id=envelope.id)
    return job.id


def on_calendar_ready(
    event: CalendarReady, uow: UnitOfWork, now: Clock, metrics: Metrics, calendar_locations: CalendarLocations
) -> None:
    """The worker stored the calendar: the job succeeds, even if its deadline failed it meanwhile.

    The event is a claim: a result that is not the job's own object (`calendar_locations`) is
    refused and changes nothing. It goes to the DLQ with the reason rather than being dropped:
    the genuine worker never names another object, so such an event is forged or a bug, and the
    DLQ is where operators are alerted and can read it. The size and SHA-256 recorded here are
    checked again when the calendar is downloaded.
    """
    result = CalendarResult(event.bucket, event.key, event.size_bytes, event.sha256, event.event_count)
    if not calendar_locations.holds(event.job_id, result):
        bucket, key = calendar_locations.of(event.job_id)
        log.warning(
            "calendar_result_refused",
            job_id=event.job_id,
            claimed=f"s3://{event.bucket}/{event.key}",
            expected=f"s3://{bucket}/{key}",
        )
        raise UnprocessableEvent(
            f"CalendarReady names s3://{event.bucket}/{event.key}, not job {event.job_id}'s s3://{bucket}/{key}"
        )
    _report(event.job_id, result, uow, now, metrics)


def on_calendar_failed(event: CalendarFailed, uow: UnitOfWork, now: Clock, metrics: Metrics) -> None:
    """A job failed: the job fails with its reason (unless already finished).

    The todo-api's own deadline failures come back here too; their job is already FAILURE.
    """
    _report(event.job_id, event.reason, uow, now, metrics)


def _report(job_id: str, outcome: CalendarResult | str, uow: UnitOfWork, now: Clock, metrics: Metrics) -> None:
    """Idempotent: a finished job stays as it is, so redelivered and late reports change nothing,
    except that a result replaces a failure (the calendar exists). Each change of outcome counts
    once in `calendar_jobs_finished`."""
    with uow:
        job = uow.jobs.get(job_id, for_update=True)
        if job is None:
            log.warning("calendar_job_unknown", job_id=job_id)
            return
        failed_because = job.error
        report = job.report(outcome, now())
        if report is Report.ALREADY_FINISHED:
            log.info("calendar_job_already_finished", job_id=job_id, status=job.status)
            return
        if report is Report.SUPERSEDED_FAILURE:
            log.warning("calendar_job_result_after_failure", job_id=job_id, failed_because=failed_because)
        uow.commit(correlation_id="")  # no events: the worker's report was the announcement
    metrics.count("calendar_jobs_finished", outcome=job.status.value)


def fail_overdue_calendar_jobs(
    command: FailOverdueCalendarJobs,
    uow: UnitOfWork,
    now: Clock,
    calendar_job_deadline_seconds: float,
    metrics: Metrics,
) -> int:
    """Fail the oldest jobs past their deadline, each with a CalendarFailed; return how many.

    The one place a deadline is enforced: reads only show what is stored, so a job's outcome
    does not depend on who polled it when. A result arriving later still wins (`_report`).
    """
    with uow:
        moment = now()
        overdue_since = moment - timedelta(seconds=calendar_job_deadline_seconds)
        jobs = uow.jobs.unfinished_requested_before(overdue_since, command.batch_size)
        failed = [job.id for job in jobs if job.fail_if_overdue(moment, calendar_job_deadline_seconds)]
        if not failed:
            return 0
        envelopes = uow.commit(command.correlation_id)
    metrics.count("calendar_jobs_finished", len(failed), outcome="FAILURE")
    for envelope in envelopes:
        log.warning("calendar_job_deadline_passed", job_id=envelope.data["job_id"], emitted_event_id=envelope.id)
    return len(failed)


def forget_finished_calendar_jobs(
    command: ForgetFinishedCalendarJobs, uow: UnitOfWork, now: Clock, calendar_job_retention: timedelta
) -> int:
    """Delete the jobs finished longer ago than the retention; return how many went.

    A finished job is only a status and a link nobody follows any more, yet it keeps the
    requester's e-mail address; the calendar file itself expires by S3's lifecycle rule.
    """
    cutoff = now() - calendar_job_retention
    return _deleted(uow, lambda: uow.jobs.delete_finished_before(cutoff, command.batch_size), command, "calendar_jobs")


def forget_old_idempotency_keys(
    command: ForgetOldIdempotencyKeys, uow: UnitOfWork, now: Clock, idempotency_key_retention: timedelta
) -> int:
    """Delete the Idempotency-Keys received longer ago than the retention; return how many went.
    A client retries within minutes; past the retention a key is new again."""
    cutoff = now() - idempotency_key_retention
    return _deleted(
        uow,
        lambda: uow.idempotency_keys.delete_received_before(cutoff, command.batch_size),
        command,
        "idempotency_keys",
    )


def _deleted(
    uow: UnitOfWork,
    delete: Callable[[], int],
    command: ForgetFinishedCalendarJobs | ForgetOldIdempotencyKeys,
    what: str,
) -> int:
    """Run `delete` inside the unit of work (its repositories exist only there); commit what it deleted."""
    with uow:
        deleted = delete()
        if deleted:
            uow.commit(command.correlation_id)
    if deleted:
        log.info(f"{what}_forgotten", count=deleted)
    return deleted


def _earlier_answer(uow: UnitOfWork, key: IdempotencyKey | None) -> dict[str, Any] | None:
    if key is None:
        return None
    answer = uow.idempotency_keys.answer(key)
    if answer is not None:
        log.info("idempotent_request_repeated", idempotency_key=key.value)
    return answer


def _todo(uow: UnitOfWork, todo_id: int, requester: str | None) -> Todo:
    todo = uow.todos.get(todo_id, for_update=True)
    if todo is None or not visible_to(todo.owner, requester):
        raise NotFound(f"todo {todo_id} not found")
    return todo


def _committed(uow: UnitOfWork, todo: Todo, command: CreateTodo | UpdateTodo | DeleteTodo) -> TodoState:
    (envelope,) = uow.commit(command.correlation_id, answering=command.idempotency_key)
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
    FailOverdueCalendarJobs: fail_overdue_calendar_jobs,
    ForgetFinishedCalendarJobs: forget_finished_calendar_jobs,
    ForgetOldIdempotencyKeys: forget_old_idempotency_keys,
}
