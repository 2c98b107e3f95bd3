"""The calendar jobs the todo-api announced, and the address it validated for each.

A CalendarReady or CalendarFailed only claims whom to tell: anyone able to publish to the topic
can write any `notify_email` into it. The todo-api checks the requester's address once, when the
job is opened, and announces it in CalendarRequested; the notifier records it here and mails only
that address. The record lives in SQLite beside the delivery log, so it survives a restart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from notifier.adapters.sqlite_file import open_store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS calendar_jobs (
    job_id       TEXT PRIMARY KEY,
    notify_email TEXT,
    requested_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calendar_jobs_by_age ON calendar_jobs (requested_at);
"""


@dataclass(frozen=True)
class RequestedJob:
    """A job the todo-api opened; `notify_email` is the address it validated, or None."""

    job_id: str
    notify_email: str | None


class CalendarJobs(Protocol):
    """Port: the jobs the todo-api announced, by id."""

    def record(self, job: RequestedJob) -> None:
        """Remember `job`. The first record of a job id wins: a later CalendarRequested naming
        the same id (a redelivery, or a forgery) never changes whom its outcome is mailed to."""
        ...

    def get(self, job_id: str) -> RequestedJob | None: ...


class SqliteCalendarJobs:
    def __init__(self, path: Path) -> None:
        self._connection = open_store(path, _SCHEMA)
        # Lanes run on a thread pool: one connection, one statement at a time.
        self._lock = threading.Lock()

    def record(self, job: RequestedJob) -> None:
        with self._lock:
            self._connection.execute(
                "INSERT OR IGNORE INTO calendar_jobs (job_id, notify_email, requested_at) VALUES (?, ?, ?)",
                (job.job_id, job.notify_email, datetime.now(UTC).isoformat()),
            )

    def get(self, job_id: str) -> RequestedJob | None:
        with self._lock:
            row = self._connection.execute(
                "SELECT job_id, notify_email FROM calendar_jobs WHERE job_id = ?", (job_id,)
            ).fetchone()
        return None if row is None else RequestedJob(row[0], row[1])

    def prune(self, older_than: timedelta) -> int:
        """Forget jobs requested longer ago than any of their outcomes could still arrive."""
        cutoff = (datetime.now(UTC) - older_than).isoformat()
        with self._lock:
            return self._connection.execute("DELETE FROM calendar_jobs WHERE requested_at < ?", (cutoff,)).rowcount

    def close(self) -> None:
        with self._lock:
            self._connection.close()
