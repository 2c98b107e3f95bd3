"""Use cases of the todo API, each one transaction: the change and its event commit together."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from taskoverflow_shared.events import CalendarFailed, CalendarReady, Envelope, TodoChanged, new_envelope
from todo_api.adapters import outbox
from todo_api.adapters.orm import CalendarJobRow, TodoRow
from todo_api.adapters.todo_records import as_utc, todo_record
from todo_api.domain.calendar_jobs import JobStatus, is_overdue, overdue_reason
from todo_api.domain.todos import TodoFilters, TodoInput

SOURCE = "todo-api"
MAX_ID = 2**63 - 1
# How often a long poll of a job's status reads the job again.
LONG_POLL_CHECK_SECONDS = 0.1

log = structlog.get_logger("todo_api.handlers")


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class CalendarJobView:
    """A calendar job as clients see it, the deadline rule applied."""

    id: str
    status: JobStatus
    error: str | None
    result_bucket: str | None
    result_key: str | None
    result_size_bytes: int | None


# Clients poll a job's status many times a second: built once, run on a bare connection (no
# ORM session, no objects), it costs a fraction of a session.get().
_jobs = CalendarJobRow.__table__
_JOB_VIEW = select(
    _jobs.c.id,
    _jobs.c.status,
    _jobs.c.requested_at,
    _jobs.c.error,
    _jobs.c.result_bucket,
    _jobs.c.result_key,
    _jobs.c.result_size_bytes,
).where(_jobs.c.id == bindparam("job_id"))


@dataclass
class TodoService:
    session_factory: sessionmaker[Session]
    calendar_job_deadline_seconds: float

    @property
    def engine(self) -> Engine:
        return self.session_factory.kw["bind"]

    # --- todos -------------------------------------------------------------------------------

    def list_todos(self, filters: TodoFilters) -> list[dict[str, Any]]:
        query = select(TodoRow).order_by(TodoRow.id)
        if filters.completed is not None:
            query = query.where(TodoRow.completed.is_(filters.completed))
        if filters.deadline_before is not None:
            query = query.where(TodoRow.deadline_at.is_not(None), TodoRow.deadline_at <= filters.deadline_before)
        with self.session_factory() as session:
            return [todo_record(todo) for todo in session.scalars(query)]

    def get_todo(self, todo_id: int) -> dict[str, Any]:
        with self.session_factory() as session:
            return todo_record(self._todo(session, todo_id))

    def create_todo(self, todo_input: TodoInput, correlation_id: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        with self.session_factory() as session, session.begin():
            todo = TodoRow(**todo_input.fields, created_at=now, updated_at=now, version=1)
            session.add(todo)
            session.flush()
            return self._changed(session, todo, "created", correlation_id)

    def update_todo(self, todo_id: int, todo_input: TodoInput, correlation_id: str) -> dict[str, Any]:
        with self.session_factory() as session, session.begin():
            todo = self._todo(session, todo_id, for_update=True)
            for name, value in todo_input.fields.items():
                setattr(todo, name, value)
            todo.updated_at = datetime.now(UTC)
            todo.version += 1
            return self._changed(session, todo, "updated", correlation_id)

    def delete_todo(self, todo_id: int, correlation_id: str) -> dict[str, Any]:
        with self.session_factory() as session, session.begin():
            todo = self._todo(session, todo_id, for_update=True)
            todo.version += 1
            record = self._changed(session, todo, "deleted", correlation_id)
            session.delete(todo)
            return record

    def _changed(self, session: Session, todo: TodoRow, action: str, correlation_id: str) -> dict[str, Any]:
        record = todo_record(todo)
        event = TodoChanged(action=action, todo=record, version=todo.version)
        envelope = new_envelope(event, source=SOURCE, correlation_id=correlation_id, subject=f"todos/{todo.id}")
        outbox.record(session, envelope)
        log.info("todo_changed", todo_id=todo.id, action=action, version=todo.version, emitted_event_id=envelope.id)
        return record

    @staticmethod
    def _todo(session: Session, todo_id: int, for_update: bool = False) -> TodoRow:
        if not 0 < todo_id <= MAX_ID:
            raise NotFound(f"todo {todo_id} not found")
        todo = session.get(TodoRow, todo_id, with_for_update=for_update)
        if todo is None:
            raise NotFound(f"todo {todo_id} not found")
        return todo

    # --- calendar jobs -----------------------------------------------------------------------

    def request_calendar(self, correlation_id: str, notify_email: str | None = None) -> str:
        """Record the job and a bare CalendarRequested; the relay adds the todos (O(1) here)."""
        job_id = str(uuid.uuid4())
        with self.session_factory() as session, session.begin():
            session.add(
                CalendarJobRow(
                    id=job_id, status=JobStatus.PENDING, requested_at=datetime.now(UTC), notify_email=notify_email
                )
            )
            envelope = Envelope(
                type="CalendarRequested",
                source=SOURCE,
                subject=f"calendars/{job_id}",
                schema_version="1.0",
                correlation_id=correlation_id,
                data={"job_id": job_id, "notify_email": notify_email},
            )
            outbox.record(session, envelope)
        log.info("calendar_requested", job_id=job_id, emitted_event_id=envelope.id)
        return job_id

    def calendar_job(self, job_id: str) -> CalendarJobView:
        """The job as clients see it: one primary-key read, no write. Past its deadline an
        unfinished job reads as FAILURE; `_finish` keeps a late report from contradicting that."""
        with self.engine.connect() as connection:
            row = connection.execute(_JOB_VIEW, {"job_id": job_id}).one_or_none()
        if row is None:
            raise NotFound(f"task {job_id} not found")
        status, error = JobStatus(row.status), row.error
        if is_overdue(status, as_utc(row.requested_at), datetime.now(UTC), self.calendar_job_deadline_seconds):
            status, error = JobStatus.FAILURE, overdue_reason(self.calendar_job_deadline_seconds)
            log.warning("calendar_job_overdue", job_id=job_id)
        return CalendarJobView(row.id, status, error, row.result_bucket, row.result_key, row.result_size_bytes)

    def calendar_job_once_finished(
        self, job_id: str, wait_seconds: float, check_every_seconds: float = LONG_POLL_CHECK_SECONDS
    ) -> CalendarJobView:
        """The long poll: the job as soon as it is finished, or as it is after `wait_seconds`.

        The worker's report reaches the database through another process (the consumer), so
        the only news that can reach this one comes from the database: one primary-key read
        every `check_every_seconds`. The deadline also ends the wait, as the job reads FAILURE.
        """
        give_up_at = time.monotonic() + wait_seconds
        job = self.calendar_job(job_id)
        while not job.status.finished and (remaining := give_up_at - time.monotonic()) > 0:
            time.sleep(min(check_every_seconds, remaining))
            job = self.calendar_job(job_id)
        return job

    # --- events from the calendar worker (idempotent: a finished job stays as it is) ---------

    def on_calendar_ready(self, envelope: Envelope, event: CalendarReady) -> None:
        self._finish(
            event.job_id,
            JobStatus.SUCCESS,
            result_bucket=event.bucket,
            result_key=event.key,
            result_size_bytes=event.size_bytes,
            result_sha256=event.sha256,
            event_count=event.event_count,
        )

    def on_calendar_failed(self, envelope: Envelope, event: CalendarFailed) -> None:
        self._finish(event.job_id, JobStatus.FAILURE, error=event.reason)

    def _finish(self, job_id: str, status: JobStatus, **outcome: Any) -> None:
        with self.session_factory() as session, session.begin():
            job = self._unfinished_job(session, job_id)
            if job is None:
                return
            now = datetime.now(UTC)
            deadline = self.calendar_job_deadline_seconds
            if is_overdue(JobStatus(job.status), as_utc(job.requested_at), now, deadline):
                # Clients have read FAILURE since the deadline passed (calendar_job computes it
                # without writing): a late report must not turn that into a success now.
                log.warning("calendar_job_reported_after_deadline", job_id=job_id, reported_status=status)
                status, outcome = JobStatus.FAILURE, {"error": overdue_reason(deadline)}
            job.status = status
            job.finished_at = now
            for column, value in outcome.items():
                setattr(job, column, value)

    @staticmethod
    def _unfinished_job(session: Session, job_id: str) -> CalendarJobRow | None:
        job = session.get(CalendarJobRow, job_id, with_for_update=True)
        if job is None:
            log.warning("calendar_job_unknown", job_id=job_id)
            return None
        if JobStatus(job.status).finished:
            log.info("calendar_job_already_finished", job_id=job_id, status=job.status)
            return None
        return job
