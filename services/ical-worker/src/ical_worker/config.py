"""The worker's settings: names from the shared topology, knobs from the environment, checked once at start.

AWS_ENDPOINT_URL, AWS_REGION and credentials are read by boto3 itself, TASKOVERFLOW_TOPIC_ARN by
shared/addresses.py, HEARTBEAT_FILE by shared/heartbeat.py and LOG_LEVEL by shared/logging_setup.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ical_worker.domain import StorageLayout
from ical_worker.domain.calendar import DEFAULT_CACHE_SIZE
from taskoverflow_shared.topology import QueueSpec, Topology, load_topology

SERVICE = "ical-worker"


class ConfigError(ValueError):
    """A setting is missing or out of range; the worker refuses to start."""


@dataclass(frozen=True)
class Settings:
    queue: QueueSpec
    topic_name: str
    message_type_attribute: str
    layout: StorageLayout
    receive_wait_seconds: int
    # Up to ten jobs per receive, handled `concurrency` at a time: a job mostly waits on S3 and
    # SNS, so overlapping them is where throughput comes from (and a big calendar does not hold
    # the small ones in its batch back; only the next receive waits for it).
    max_messages: int = 10
    concurrency: int = 8
    # Entries in each of the two caches (rendered VEVENT blocks, parsed snapshot lines).
    cache_size: int = DEFAULT_CACHE_SIZE
    # How long to wait at start for the queue to exist (`make run` bootstraps beside us).
    startup_wait_seconds: int = 60

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, topology: Topology | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        topology = topology or load_topology()
        return cls(
            queue=topology.queue_for(SERVICE),
            topic_name=topology.topic_name,
            message_type_attribute=topology.message_type_attribute,
            layout=StorageLayout(
                bucket=topology.bucket_name,
                calendar_prefix=topology.calendar_prefix,
                snapshot_prefix=topology.snapshot_prefix,
            ),
            receive_wait_seconds=_integer(
                environ, "ICAL_WORKER_RECEIVE_WAIT_SECONDS", topology.receive_wait_time_seconds, low=0, high=20
            ),
            max_messages=_integer(environ, "ICAL_WORKER_MAX_MESSAGES", 10, low=1, high=10),
            concurrency=_integer(environ, "ICAL_WORKER_CONCURRENCY", 8, low=1, high=64),
            cache_size=_integer(environ, "ICAL_WORKER_CACHE_SIZE", DEFAULT_CACHE_SIZE, low=0),
            startup_wait_seconds=_integer(environ, "ICAL_WORKER_STARTUP_WAIT_SECONDS", 60, low=0),
        )


def _integer(environ: Mapping[str, str], name: str, default: int, *, low: int, high: int | None = None) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{name}={value} must be {bounds}")
    return value
