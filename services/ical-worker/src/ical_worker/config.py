"""The worker's settings: names from the shared topology, knobs from the environment, checked once at start.

AWS_ENDPOINT_URL, AWS_REGION and credentials are read by boto3 itself, TASKOVERFLOW_TOPIC_ARN by
shared/addresses.py, LOG_LEVEL by shared/logging_setup.py; HEARTBEAT_FILE and
ICAL_WORKER_STARTUP_WAIT_SECONDS and ICAL_WORKER_RECEIVE_WAIT_SECONDS by the shared worker runtime
(taskoverflow_shared.settings.ConsumerSettings).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ical_worker.domain import StorageLayout
from ical_worker.domain.calendar import DEFAULT_CACHE_SIZE
from taskoverflow_shared.settings import ConsumerSettings
from taskoverflow_shared.topology import load_topology

SERVICE = "ical-worker"


class Settings(ConsumerSettings):
    model_config = SettingsConfigDict(env_prefix="ICAL_WORKER_")
    service = SERVICE

    # Up to ten jobs per receive, handled `concurrency` at a time: a job mostly waits on S3 and
    # SNS, so overlapping them is where throughput comes from (and a big calendar does not hold
    # the small ones in its batch back; only the next receive waits for it).
    max_messages: int = Field(10, ge=1, le=10, description="messages per receive")
    concurrency: int = Field(
        8, ge=1, le=64, description="jobs handled at once (their outcomes share `PublishBatch` requests)"
    )
    cache_size: int = Field(
        DEFAULT_CACHE_SIZE,
        ge=0,
        description="entries in each of the two render caches (rendered VEVENT blocks, parsed snapshot lines)",
    )

    @property
    def topic_name(self) -> str:
        return load_topology().topic_name

    @property
    def message_type_attribute(self) -> str:
        return load_topology().message_type_attribute

    @property
    def layout(self) -> StorageLayout:
        topology = load_topology()
        return StorageLayout(
            bucket=topology.bucket_name,
            calendar_prefix=topology.calendar_prefix,
            snapshot_prefix=topology.snapshot_prefix,
        )


FEED_SERVICE = "ical-feed-worker"
DEFAULT_FEED_RECEIVE_WAIT_SECONDS = 5


class FeedSettings(ConsumerSettings):
    """The live-feed consumer (`ical-feed-worker`): its own queue, so bulk todo changes never
    wait in front of calendar jobs, and the same bucket under the topology's feed prefix."""

    model_config = SettingsConfigDict(env_prefix="ICAL_FEED_WORKER_")
    service = FEED_SERVICE

    # A batch is written when it holds `flush_events` changes or its oldest is `flush_seconds`
    # old: the feed lags a change by about `flush_seconds`, and a burst by one user costs one
    # write of their feed per `flush_events` changes.
    flush_seconds: float = Field(
        1.0, ge=0.1, le=15.0, description="a batch of changes is written once its oldest is this old (seconds)"
    )
    flush_events: int = Field(
        1000, ge=1, le=10_000, description="a batch of changes is written once it holds this many"
    )
    concurrency: int = Field(8, ge=1, le=64, description="owners' feeds written at once within a batch")
    # Short long polls, as the archiver's: a stop waits for the current one to end.
    receive_wait_seconds: int = Field(
        DEFAULT_FEED_RECEIVE_WAIT_SECONDS, ge=0, le=20, description="SQS long-poll wait (short, so a stop is quick)"
    )
    cache_size: int = Field(DEFAULT_CACHE_SIZE, ge=0, description="rendered VEVENT blocks kept between batches")

    @property
    def bucket(self) -> str:
        return load_topology().bucket_name
