"""The read side: what GETs answer, straight from the tables. Nothing here writes.

Reads skip the unit of work and the entities: a list is plain rows turned into `TodoState`, and
a job's status is one primary-key read on a bare connection. A job reads as it is stored: its
deadline is enforced by the sweeper (handlers.fail_overdue_calendar_jobs), never by a read.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, CursorResult, Engine, bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError

from todo_api.adapters.calendar_storage import CalendarFiles
from todo_api.adapters.orm import OutboxRow, calendar_jobs, todos
from todo_api.domain.model import (
    MAX_ID,
    CalendarCorrupt,
    CalendarLocations,
    InvalidInput,
    JobStatus,
    NotFound,
    as_utc,
    todo_state,
    verified_calendar,
    visible_to,
)

MAX_WINDOW_DAYS = 36_500
# A page is at most this many todos; without `limit` and `offset` the whole list is streamed.
MAX_PAGE_LIMIT = 1000
MAX_PAGE_OFFSET = 1_000_000_000
_COUNT_SHAPE = re.compile(r"0*([0-9]{1,10})")
# Rows fetched from the database at a time while a list is streamed: what the process holds.
TODOS_READ_PER_BATCH = 500
# ASCII digits, leading zeros allowed: str.isdigit() also takes "²", which int() refuses, and
# int() refuses more than 4300 digits.
_WINDOW_SHAPE = re.compile(r"0*([0-9]{1,5})")
# How often a long poll of a job's status reads the job again.
LONG_POLL_CHECK_SECONDS = 0.1

log = structlog.get_logger("todo_api.views")


@dataclass(frozen=True)
class TodoFilters:
    completed: bool | None = None
    deadline_before: datetime | None = None
    # The page: None is every todo from `offset` on.
    limit: int | None = None
    offset: int = 0


def parse_filters(arguments: dict[str, str], now: datetime | None = None) -> TodoFilters:
    """`completed=true|false`; `window=N`: deadline within N days from now, past ones included;
    `limit`, `offset`: the page."""
    completed = None
    if "completed" in arguments:
        raw = arguments["completed"]
        if raw not in ("true", "false"):
            raise InvalidInput("completed must be true or false")
        completed = raw == "true"
    deadline_before = None
    if "window" in arguments:
        window = _WINDOW_SHAPE.fullmatch(arguments["window"])
        if window is None or int(window[1]) > MAX_WINDOW_DAYS:
            raise InvalidInput(f"window must be a whole number of days between 0 and {MAX_WINDOW_DAYS}")
        # Deadlines are naive local times, as clients send them; compare in the same terms.
        now = now or datetime.now(UTC).replace(tzinfo=None)
        deadline_before = now + timedelta(days=int(window[1]))
    limit = _count(arguments, "limit", 1, MAX_PAGE_LIMIT)
    offset = _count(arguments, "offset", 0, MAX_PAGE_OFFSET)
    return TodoFilters(completed=completed, deadline_before=deadline_before, limit=limit, offset=offset or 0)


def _count(arguments: dict[str, str], name: str, lowest: int, highest: int) -> int | None:
    if name not in arguments:
        return None
    count = _COUNT_SHAPE.fullmatch(arguments[name])
    if count is None or not lowest <= int(count[1]) <= highest:
        raise InvalidInput(f"{name} must be a whole number from {lowest} to {highest}")
    return int(count[1])


@dataclass(frozen=True)
class CalendarJobView:
    """A calendar job as clients see it."""

    id: str
    status: JobStatus
    error: str | None
    result_bucket: str | None
    result_key: str | None
    result_size_bytes: int | None
    result_sha256: str | None = None


# Clients poll a job's status many times a second: built once, run on a bare connection (no
# ORM session, no objects), it costs a fraction of a session.get().
_JOB = select(
    calendar_jobs.c.id,
    calendar_jobs.c.status,
    calendar_jobs.c.error,
    calendar_jobs.c.result_bucket,
    calendar_jobs.c.result_key,
    calendar_jobs.c.result_size_bytes,
    calendar_jobs.c.result_sha256,
    calendar_jobs.c.owner,
).where(calendar_jobs.c.id == bindparam("job_id"))
# Parked rows wait for an operator, not for the relay: they are not lag.
_OLDEST_PENDING = select(func.min(OutboxRow.created_at)).where(
    OutboxRow.published_at.is_(None), OutboxRow.parked_at.is_(None)
)


@dataclass
class TodoViews:
    engine: Engine

    def todos(self, filters: TodoFilters, requester: str | None = None) -> Iterator[dict[str, Any]]:
        """The todos that pass `filters`, oldest first, read as they are iterated. `requester` is
        the caller's token `sub`, or None without authentication (then all are visible).

        Rows come TODOS_READ_PER_BATCH at a time (a server-side cursor on PostgreSQL), so a list
        of any length costs the memory of a batch, not of the table. The query is sent before
        this returns, so an unreachable database raises here (a 503), not halfway through a
        response. The connection is held until the iterator ends or is closed.
        """
        query = select(todos).order_by(todos.c.id)
        if requester is not None:
            query = query.where(todos.c.owner == requester)
        if filters.completed is not None:
            query = query.where(todos.c.completed.is_(filters.completed))
        if filters.deadline_before is not None:
            query = query.where(todos.c.deadline_at.is_not(None), todos.c.deadline_at <= filters.deadline_before)
        if filters.offset:
            query = query.offset(filters.offset)
        if filters.limit is not None:
            query = query.limit(filters.limit)
        connection = self.engine.connect()
        try:
            rows = connection.execution_options(yield_per=TODOS_READ_PER_BATCH).execute(query)
        except BaseException:
            connection.close()
            raise
        return _todo_states(connection, rows)

    def todo(self, todo_id: int, requester: str | None = None) -> dict[str, Any]:
        row = None
        if 0 < todo_id <= MAX_ID:
            with self.engine.connect() as connection:
                row = connection.execute(select(todos).where(todos.c.id == todo_id)).one_or_none()
        if row is None or not visible_to(row.owner, requester):
            raise NotFound(f"todo {todo_id} not found")
        return todo_state(row).model_dump()

    def calendar_job(self, job_id: str, requester: str | None = None) -> CalendarJobView:
        """The job as clients see it: one primary-key read, no write."""
        with self.engine.connect() as connection:
            row = connection.execute(_JOB, {"job_id": job_id}).one_or_none()
        if row is None or not visible_to(row.owner, requester):
            raise NotFound(f"task {job_id} not found")
        return CalendarJobView(
            row.id,
            JobStatus(row.status),
            row.error,
            row.result_bucket,
            row.result_key,
            row.result_size_bytes,
            row.result_sha256,
        )

    def calendar_job_once_finished(
        self,
        job_id: str,
        wait_seconds: float,
        requester: str | None = None,
        check_every_seconds: float = LONG_POLL_CHECK_SECONDS,
    ) -> CalendarJobView:
        """The long poll: the job as soon as it is finished, or as it is after `wait_seconds`.

        The worker's report reaches the database through another process (the consumer), so
        the only news that can reach this one comes from the database: one primary-key read
        every `check_every_seconds`. The sweeper's deadline FAILURE ends the wait like any outcome.
        """
        give_up_at = time.monotonic() + wait_seconds
        job = self.calendar_job(job_id, requester)
        while not job.status.finished and (remaining := give_up_at - time.monotonic()) > 0:
            time.sleep(min(check_every_seconds, remaining))
            job = self.calendar_job(job_id, requester)
        return job

    def outbox_lag_seconds(self) -> float:
        """How long the oldest unpublished event has waited (0 when none); raises if the database is down."""
        with self.engine.connect() as connection:
            oldest = connection.execute(_OLDEST_PENDING).scalar()
        if oldest is None:
            return 0.0
        return (datetime.now(UTC) - as_utc(oldest)).total_seconds()

    def outbox_lag_seconds_if_reachable(self) -> float | None:
        """The outbox lag, or None when the database does not answer (health reports it down)."""
        try:
            return self.outbox_lag_seconds()
        except SQLAlchemyError:
            log.exception("health_check_failed")
            return None


@dataclass(frozen=True)
class CalendarFile:
    """A finished calendar, read as it is streamed."""

    chunks: Iterator[bytes]
    size_bytes: int | None
    filename: str


@dataclass
class CalendarDownloads:
    """A job's calendar, once the job has succeeded."""

    views: TodoViews
    files: CalendarFiles
    locations: CalendarLocations

    def open(self, job_id: str, requester: str | None = None) -> CalendarFile:
        """The job's calendar, checked as it streams (`calendar_download`); NotFound with the
        reason while the job is not SUCCESS."""
        job = self.views.calendar_job(job_id, requester)
        if job.status == JobStatus.FAILURE:
            raise NotFound(f"Task failed: {job.error}")
        if job.status != JobStatus.SUCCESS:
            raise NotFound("Task not finished")
        chunks = calendar_download(self.files, self.locations, job)
        return CalendarFile(chunks, job.result_size_bytes, f"todos-{job.id}.ics")


def calendar_download(files: CalendarFiles, locations: CalendarLocations, job: CalendarJobView) -> Iterator[bytes]:
    """The calendar of a SUCCESS job, as the bytes recorded for it or not at all.

    Opens only the job's own object, derived from its id (whatever bucket and key its
    CalendarReady named), and checks it against the size and SHA-256 recorded from that event
    as it streams. A calendar of one chunk (nearly all) is read and checked before this
    returns, so a mismatch is a clean 404 (CalendarCorrupt) instead of a wrong file; a longer
    one is cut short of its Content-Length. Either way the mismatch is logged.
    """
    if job.result_size_bytes is None or job.result_sha256 is None:
        raise CalendarCorrupt(f"task {job.id} has no recorded calendar")
    bucket, key = locations.of(job.id)
    chunks = _logging_corruption(
        verified_calendar(files.open_calendar(bucket, key), job.result_size_bytes, job.result_sha256), job.id, key
    )
    first = next(chunks, None)
    return itertools.chain([] if first is None else [first], chunks)


def _logging_corruption(chunks: Iterator[bytes], job_id: str, key: str) -> Iterator[bytes]:
    try:
        yield from chunks
    except CalendarCorrupt as corrupt:
        log.error("calendar_download_refused", job_id=job_id, key=key, reason=str(corrupt))
        raise


def _todo_states(connection: Connection, rows: CursorResult[Any]) -> Iterator[dict[str, Any]]:
    with connection, rows:
        for row in rows:
            yield todo_state(row).model_dump()
