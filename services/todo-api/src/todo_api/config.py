"""Settings from the environment, read and validated once at start."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("data") / "todo-api.sqlite3"


class ConfigurationError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    public_base_url: str | None
    calendar_job_deadline_seconds: float
    inline_todos_max_bytes: int
    relay_poll_interval_seconds: float
    relay_batch_size: int
    relay_publish_threads: int = 4
    status_long_polls: int = 3

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}",
            public_base_url=(os.environ.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            calendar_job_deadline_seconds=_positive_number("CALENDAR_JOB_DEADLINE_SECONDS", 300),
            inline_todos_max_bytes=int(_positive_number("CALENDAR_INLINE_TODOS_MAX_BYTES", 128 * 1024)),
            relay_poll_interval_seconds=_positive_number("OUTBOX_RELAY_POLL_SECONDS", 0.1),
            relay_batch_size=int(_positive_number("OUTBOX_RELAY_BATCH_SIZE", 100)),
            relay_publish_threads=int(_positive_number("OUTBOX_RELAY_PUBLISH_THREADS", 4)),
            status_long_polls=int(_positive_number("CALENDAR_STATUS_LONG_POLLS", 3)),
        )


def _positive_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {raw!r}")
    return value
