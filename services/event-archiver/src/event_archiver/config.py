"""The archiver's settings: names from the shared topology, flush knobs from the environment, checked once.

AWS_ENDPOINT_URL, AWS_REGION and credentials are read by boto3 itself, LOG_LEVEL by
shared/logging_setup.py; HEARTBEAT_FILE and EVENT_ARCHIVER_STARTUP_WAIT_SECONDS by the shared
worker runtime (taskoverflow_shared.settings.ConsumerSettings). Every problem is reported at once.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from taskoverflow_shared.settings import ConsumerSettings
from taskoverflow_shared.topology import load_topology

SERVICE = "event-archiver"
DEFAULT_RECEIVE_WAIT_SECONDS = 5


class Settings(ConsumerSettings):
    model_config = SettingsConfigDict(env_prefix="EVENT_ARCHIVER_")
    service = SERVICE

    # A batch is stored when it holds `flush_events` events or its oldest is `flush_seconds` old.
    flush_seconds: float = Field(
        10.0,
        ge=0.1,
        description="a batch is stored once its oldest event is this old (at most a quarter of the queue's "
        "visibility timeout)",
    )
    flush_events: int = Field(1000, ge=1, le=10_000, description="a batch is stored once it holds this many events")
    # Short long polls: a stop waits for the current one to end (see entrypoints/worker.py), and
    # 5 s keeps that inside compose's and ECS's stop grace periods at a negligible request cost.
    receive_wait_seconds: int = Field(
        DEFAULT_RECEIVE_WAIT_SECONDS, ge=0, le=20, description="SQS long-poll wait (short, so a stop is quick)"
    )

    @field_validator("flush_seconds")
    @classmethod
    def _flush_within_visibility(cls, flush_seconds: float) -> float:
        # Messages are held (invisible) from their receive until the flush's puts succeed. A
        # quarter of the visibility timeout for buffering leaves the puts the other three
        # quarters before SQS could hand a message to someone else (and it be archived twice).
        longest = load_topology().queue_for(SERVICE).visibility_timeout_seconds / 4
        if flush_seconds > longest:
            raise ValueError(f"EVENT_ARCHIVER_FLUSH_SECONDS must be between 0.1 and {longest:g}, not {flush_seconds:g}")
        return flush_seconds

    @property
    def bucket(self) -> str:
        return load_topology().bucket_name

    @property
    def prefix(self) -> str:
        return load_topology().event_archive_prefix
