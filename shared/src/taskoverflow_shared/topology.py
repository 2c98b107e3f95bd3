"""Typed view of topology.json, the single declaration of topic, queues, filters and bucket.

The local bootstrap, every service and Terraform read the same file, so a name changes in one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class QueueSpec:
    """One consuming service's queue, its dead-letter queue and its subscription filter."""

    service: str
    name: str
    dlq_name: str
    event_types: tuple[str, ...] | None
    visibility_timeout_seconds: int
    max_receive_count: int
    raw_message_delivery: bool

    def filter_policy(self, type_attribute: str) -> dict[str, list[str]] | None:
        """The SNS subscription filter policy, or None when the queue receives every event."""
        if self.event_types is None:
            return None
        return {type_attribute: list(self.event_types)}


@dataclass(frozen=True)
class Topology:
    topic_name: str
    message_type_attribute: str
    bucket_name: str
    calendar_prefix: str
    snapshot_prefix: str
    event_archive_prefix: str
    queues: dict[str, QueueSpec]
    message_retention_seconds: int
    receive_wait_time_seconds: int

    def queue_for(self, service: str) -> QueueSpec:
        return self.queues[service]


def parse_topology(raw: dict) -> Topology:
    queues = {
        service: QueueSpec(
            service=service,
            name=spec["name"],
            dlq_name=spec["dlq_name"],
            event_types=None if spec["event_types"] is None else tuple(spec["event_types"]),
            visibility_timeout_seconds=int(spec["visibility_timeout_seconds"]),
            max_receive_count=int(spec["max_receive_count"]),
            raw_message_delivery=bool(spec["raw_message_delivery"]),
        )
        for service, spec in raw["queues"].items()
    }
    return Topology(
        topic_name=raw["topic"]["name"],
        message_type_attribute=raw["message_type_attribute"],
        bucket_name=raw["bucket"]["name"],
        calendar_prefix=raw["bucket"]["calendar_prefix"],
        snapshot_prefix=raw["bucket"]["snapshot_prefix"],
        event_archive_prefix=raw["bucket"]["event_archive_prefix"],
        queues=queues,
        message_retention_seconds=int(raw["message_retention_seconds"]),
        receive_wait_time_seconds=int(raw["receive_wait_time_seconds"]),
    )


@cache
def load_topology() -> Topology:
    text = resources.files("taskoverflow_shared").joinpath("topology.json").read_text()
    return parse_topology(json.loads(text))
