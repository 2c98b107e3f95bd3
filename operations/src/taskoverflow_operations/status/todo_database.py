"""The outbox and the calendar jobs, read from the todo-api's database (SQLite or PostgreSQL).

Read-only by construction: SQLite is opened with `mode=ro` (a missing file is an error, not a new
empty database), PostgreSQL sessions default to read-only transactions with a statement timeout.
The tables are reflected from the database rather than declared here, so this reads whatever the
todo-api's migrations made without its ORM; the lanes and the job states are the todo-api
domain's own definitions.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, MetaData, Table, create_engine, func, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from taskoverflow_operations.status.readings import CalendarJobsStatus, FailureReason, OutboxStatus
from todo_api.domain.model import JobStatus
from todo_api.domain.outbox_lanes import Lane

# The todo-api's defaults (services/todo-api config), for an operator who set neither.
DEFAULT_DATABASE_URL = "sqlite:///data/todo-api.sqlite3"
DEFAULT_JOB_DEADLINE_SECONDS = 300.0
# The outbox's lanes by the number stored in `lane`, as an operator names them.
OUTBOX_LANES = {int(lane): lane.name.lower() for lane in Lane}
JOB_STATES = tuple(str(status) for status in JobStatus)
UNFINISHED_STATES = tuple(str(status) for status in JobStatus if not status.finished)
OVERDUE = "OVERDUE"
TOP_FAILURE_REASONS = 5
_CONNECT_TIMEOUT_SECONDS = 3
_STATEMENT_TIMEOUT_MS = 5000


def database_url_from_environment() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def job_deadline_from_environment() -> float:
    raw = os.environ.get("CALENDAR_JOB_DEADLINE_SECONDS", "").strip()
    return float(raw) if raw else DEFAULT_JOB_DEADLINE_SECONDS


def read_only_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").resolve()
        # The URI form is the only way to ask sqlite3 for a read-only connection.
        return create_engine(
            "sqlite://",
            # A connection per look: nothing held open between refreshes of `--watch`.
            poolclass=NullPool,
            creator=lambda: sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, timeout=_CONNECT_TIMEOUT_SECONDS, check_same_thread=False
            ),
        )
    options = f"-c default_transaction_read_only=on -c statement_timeout={_STATEMENT_TIMEOUT_MS}"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=1,
        connect_args={"connect_timeout": _CONNECT_TIMEOUT_SECONDS, "options": options},
    )


@dataclass
class TodoDatabaseReader:
    """Reads the outbox and the calendar jobs; reflects the two tables once per engine."""

    engine: Engine
    job_deadline_seconds: float = DEFAULT_JOB_DEADLINE_SECONDS
    # How an operator names the database in a message (its URL, password hidden).
    label: str = "database"
    _tables: dict[str, Table] = field(default_factory=dict, init=False)

    @classmethod
    def for_url(cls, url: str, job_deadline_seconds: float = DEFAULT_JOB_DEADLINE_SECONDS) -> TodoDatabaseReader:
        shown = make_url(url).render_as_string(hide_password=True)
        return cls(read_only_engine(url), job_deadline_seconds, label=f"database {shown}")

    def outbox(self, now: datetime) -> OutboxStatus:
        with self.engine.connect() as connection:
            outbox = self._table(connection, "outbox")
            rows = connection.execute(
                select(outbox.c.lane, func.count(), func.min(outbox.c.created_at))
                .where(outbox.c.published_at.is_(None), outbox.c.parked_at.is_(None))
                .group_by(outbox.c.lane)
            ).all()
            parked = connection.scalar(select(func.count()).select_from(outbox).where(outbox.c.parked_at.is_not(None)))
        by_lane = {name: 0 for name in OUTBOX_LANES.values()}
        oldest: datetime | None = None
        for lane, count, lane_oldest in rows:
            name = OUTBOX_LANES.get(lane, f"lane {lane}")
            by_lane[name] = by_lane.get(name, 0) + count
            if lane_oldest is not None:
                oldest = min(oldest, _utc(lane_oldest)) if oldest else _utc(lane_oldest)
        return OutboxStatus(
            pending=sum(by_lane.values()),
            pending_by_lane=by_lane,
            parked=parked,
            lag_seconds=round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else None,
        )

    def calendar_jobs(self, now: datetime, window: timedelta) -> CalendarJobsStatus:
        since = now - window
        deadline_passed_before = now - timedelta(seconds=self.job_deadline_seconds)
        with self.engine.connect() as connection:
            jobs = self._table(connection, "calendar_jobs")
            in_window = jobs.c.requested_at >= since
            by_state = dict.fromkeys((*JOB_STATES, OVERDUE), 0)
            for state, count in connection.execute(
                select(jobs.c.status, func.count()).where(in_window).group_by(jobs.c.status)
            ):
                by_state[state] = by_state.get(state, 0) + count
            for state, count in connection.execute(
                select(jobs.c.status, func.count())
                .where(in_window, jobs.c.status.in_(UNFINISHED_STATES), jobs.c.requested_at < deadline_passed_before)
                .group_by(jobs.c.status)
            ):
                by_state[state] -= count
                by_state[OVERDUE] += count
            failures = func.count().label("failures")
            reasons = connection.execute(
                select(jobs.c.error, failures)
                .where(in_window, jobs.c.status == JobStatus.FAILURE)
                .group_by(jobs.c.error)
                .order_by(failures.desc(), jobs.c.error)
                .limit(TOP_FAILURE_REASONS)
            ).all()
        return CalendarJobsStatus(
            window_seconds=int(window.total_seconds()),
            deadline_seconds=self.job_deadline_seconds,
            by_state=by_state,
            top_failure_reasons=[FailureReason(reason or "(no reason recorded)", count) for reason, count in reasons],
        )

    def _table(self, connection: Connection, name: str) -> Table:
        if name not in self._tables:
            self._tables[name] = Table(name, MetaData(), autoload_with=connection)
        return self._tables[name]


def _utc(moment: datetime) -> datetime:
    # SQLite hands back the naive UTC time the todo-api stored.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
