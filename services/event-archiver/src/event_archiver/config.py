"""The archiver's settings: names from the shared topology, flush knobs from the environment, checked once.

AWS_ENDPOINT_URL, AWS_REGION and credentials are read by boto3 itself, HEARTBEAT_FILE by
shared/heartbeat.py and LOG_LEVEL by shared/logging_setup.py. Every problem is reported at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from taskoverflow_shared.topology import QueueSpec, Topology, load_topology

SERVICE = "event-archiver"
DEFAULT_RECEIVE_WAIT_SECONDS = 5
T = TypeVar("T", int, float)


class ConfigError(Exception):
    """The environment does not describe a runnable archiver; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid event-archiver configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    queue: QueueSpec
    bucket: str
    prefix: str
    # A batch is stored when it holds `flush_events` events or its oldest is `flush_seconds` old.
    flush_seconds: float = 10.0
    flush_events: int = 1000
    # Short long polls: a stop waits for the current one to end (see entrypoints/worker.py), and
    # 5 s keeps that inside compose's and ECS's stop grace periods at a negligible request cost.
    receive_wait_seconds: int = DEFAULT_RECEIVE_WAIT_SECONDS
    # How long to wait at start for the queue to exist (`make run` bootstraps beside us).
    startup_wait_seconds: int = 60

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, topology: Topology | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        topology = topology or load_topology()
        queue = topology.queue_for(SERVICE)
        reader = _Reader(environ)
        # Messages are held (invisible) from their receive until the flush's puts succeed. A
        # quarter of the visibility timeout for buffering leaves the puts the other three
        # quarters before SQS could hand a message to someone else (and it be archived twice).
        longest_flush = queue.visibility_timeout_seconds / 4
        settings = cls(
            queue=queue,
            bucket=topology.bucket_name,
            prefix=topology.event_archive_prefix,
            flush_seconds=reader.number("EVENT_ARCHIVER_FLUSH_SECONDS", 10.0, float, low=0.1, high=longest_flush),
            flush_events=reader.number("EVENT_ARCHIVER_FLUSH_EVENTS", 1000, int, low=1, high=10_000),
            receive_wait_seconds=reader.number(
                "EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS", DEFAULT_RECEIVE_WAIT_SECONDS, int, low=0, high=20
            ),
            startup_wait_seconds=reader.number("EVENT_ARCHIVER_STARTUP_WAIT_SECONDS", 60, int, low=0, high=3600),
        )
        if reader.problems:
            raise ConfigError(reader.problems)
        return settings


class _Reader:
    """Parses numbers and collects problems instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def number(self, name: str, default: T, parse: Callable[[str], T], *, low: float, high: float) -> T:
        raw = self.environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = parse(raw)
        except ValueError:
            self.problems.append(f"{name} must be a{'n integer' if parse is int else ' number'}, not {raw!r}")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name} must be between {low:g} and {high:g}, not {raw}")
        return value
