"""The todo-api's settings, read once at start by the shared reader (taskoverflow_shared.settings).

The API, the relay and the consumer read the same variables; the two workers add the shared
runtime's (HEARTBEAT_FILE, TODO_API_STARTUP_WAIT_SECONDS, TODO_API_RECEIVE_WAIT_SECONDS).
AWS_* are boto3's, TASKOVERFLOW_TOPIC_ARN is shared/addresses.py's, LOG_LEVEL logging_setup's.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from taskoverflow_shared.settings import ConsumerSettings, ServiceSettings, WorkerSettings

SERVICE = "todo-api"
DEFAULT_SQLITE_PATH = Path("data") / "todo-api.sqlite3"
# Inline todos ride inside the CalendarRequested message, whose envelope adds a few KiB: above
# this the message could pass SQS's 256 KiB limit and the relay could never publish it.
MAX_INLINE_TODOS_BYTES = 240 * 1024


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TODO_API_", validate_by_name=True)
    service = SERVICE

    database_url: str = Field(f"sqlite:///{DEFAULT_SQLITE_PATH}", min_length=1, validation_alias="DATABASE_URL")
    # The address clients reach the API at, for absolute links (status and result URLs, mail).
    public_base_url: str | None = Field(None, validation_alias="PUBLIC_BASE_URL")
    calendar_job_deadline_seconds: float = Field(300.0, gt=0, validation_alias="CALENDAR_JOB_DEADLINE_SECONDS")
    inline_todos_max_bytes: int = Field(
        128 * 1024, gt=0, le=MAX_INLINE_TODOS_BYTES, validation_alias="CALENDAR_INLINE_TODOS_MAX_BYTES"
    )
    relay_poll_interval_seconds: float = Field(0.1, gt=0, validation_alias="OUTBOX_RELAY_POLL_SECONDS")
    relay_batch_size: int = Field(100, gt=0, le=10_000, validation_alias="OUTBOX_RELAY_BATCH_SIZE")
    relay_publish_threads: int = Field(4, gt=0, le=32, validation_alias="OUTBOX_RELAY_PUBLISH_THREADS")
    # A row that keeps failing on its own (not in an outage) is parked after this many tries.
    outbox_max_attempts: int = Field(20, gt=0, le=1000, validation_alias="OUTBOX_MAX_ATTEMPTS")
    # Published rows are deleted by the relay once older than this; pending and parked rows never.
    outbox_retention_hours: float = Field(168.0, gt=0, validation_alias="OUTBOX_RETENTION_HOURS")
    status_long_polls: int = Field(3, gt=0, le=64, validation_alias="CALENDAR_STATUS_LONG_POLLS")

    @field_validator("public_base_url")
    @classmethod
    def _without_trailing_slash(cls, url: str | None) -> str | None:
        return url.rstrip("/") or None if url else None


class RelaySettings(Settings, WorkerSettings):
    """The outbox relay: the API's settings plus the shared worker runtime's."""


class ConsumerProcessSettings(Settings, ConsumerSettings):
    """The consumer of calendar outcomes: the API's settings plus the shared consumer loop's."""
