"""A calendar job's life: PENDING until the worker reports, then SUCCESS or FAILURE for good."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCESS, JobStatus.FAILURE)


def is_overdue(status: JobStatus, requested_at: datetime, now: datetime, deadline_seconds: float) -> bool:
    """A job still unfinished past its deadline is reported FAILURE, never PENDING forever."""
    return not status.finished and now - requested_at > timedelta(seconds=deadline_seconds)


def overdue_reason(deadline_seconds: float) -> str:
    return f"calendar not finished within {deadline_seconds:g} seconds"
