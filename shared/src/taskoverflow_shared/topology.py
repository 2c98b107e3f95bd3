"""Typed view of topology.json, the single declaration of topic, publishers, queues, filters and bucket.

The local bootstrap, every service and Terraform read the same file, so a name changes in one place.

Two delivery variants share that one declaration, chosen by TASKOVERFLOW_DELIVERY:
- `standard` (default): a standard SNS topic fanning out to standard SQS queues;
- `fifo`: an SNS FIFO topic fanning out to SQS FIFO queues, which keeps the order of the events
  of one entity (one todo) and drops re-published duplicates. Its names are the standard names
  with the `.fifo` suffix AWS requires of FIFO topics and queues; no second list of names exists.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any, Literal

DELIVERY_VARIABLE = "TASKOVERFLOW_DELIVERY"
Delivery = Literal["standard", "fifo"]
DELIVERIES: tuple[Delivery, ...] = ("standard", "fifo")
FIFO_SUFFIX = ".fifo"


class UnknownDelivery(ValueError):
    """TASKOVERFLOW_DELIVERY names no delivery variant: refuse to start rather than guess."""


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
    # Past it, S3 expires a snapshot and a replayed CalendarRequested could only fail.
    snapshot_retention_days: int
    event_archive_prefix: str
    # Per owner, the live calendar feed and the state it is rendered from (see feed_keys).
    feed_prefix: str
    queues: dict[str, QueueSpec]
    message_retention_seconds: int
    receive_wait_time_seconds: int
    # Which service publishes which event types to the topic: the AsyncAPI document's senders,
    # the only roles Terraform lets publish, and the `source` a consumer expects of each type.
    publishers: dict[str, tuple[str, ...]]
    delivery: Delivery = "standard"

    @property
    def is_fifo(self) -> bool:
        return self.delivery == "fifo"

    def queue_for(self, service: str) -> QueueSpec:
        return self.queues[service]

    def calendar_key(self, job_id: str) -> str:
        """Where the ical-worker stores job `job_id`'s calendar, in `bucket_name`: the one place
        that job's result may be, whatever an event about it names."""
        return calendar_key(self.calendar_prefix, job_id)

    def feed_keys(self, owner: str | None) -> FeedKeys:
        """Where `owner`'s calendar feed and its state live in `bucket_name` (see `feed_keys`)."""
        return feed_keys(self.feed_prefix, owner)

    @property
    def producers(self) -> dict[str, tuple[str, ...]]:
        """Event type => the services that may produce it (`publishers`, seen from the type)."""
        by_type: dict[str, tuple[str, ...]] = {}
        for service, event_types in self.publishers.items():
            for event_type in event_types:
                by_type[event_type] = (*by_type.get(event_type, ()), service)
        return by_type

    def producers_of(self, event_type: str) -> tuple[str, ...]:
        """The services that may produce `event_type`; none for a type the topology does not know."""
        return self.producers.get(event_type, ())

    @property
    def producing_services(self) -> frozenset[str]:
        """Every service that produces at least one event type (those that may publish)."""
        return frozenset(service for service, event_types in self.publishers.items() if event_types)


def calendar_key(calendar_prefix: str, job_id: str) -> str:
    """`<calendar_prefix><job_id>.ics`: one object per job, derived from the job id alone."""
    return f"{calendar_prefix}{job_id}.ics"


SHARED_FEED = "shared"


@dataclass(frozen=True)
class FeedKeys:
    """The two objects of one owner's calendar feed: the .ics served, and the state it renders."""

    calendar: str
    state: str


def feed_keys(feed_prefix: str, owner: str | None) -> FeedKeys:
    """`<feed_prefix><folder>/feed.ics` and `…/state.json`, for the todo-api and the feed worker alike.

    The folder is a digest of the owner (a token `sub` is any string, and key names are listed in
    logs and consoles); todos without an owner (authentication off) share the folder `shared`,
    which no digest can be.
    """
    folder = SHARED_FEED if owner is None else hashlib.sha256(owner.encode()).hexdigest()[:32]
    return FeedKeys(calendar=f"{feed_prefix}{folder}/feed.ics", state=f"{feed_prefix}{folder}/state.json")


def is_fifo(name_url_or_arn: str) -> bool:
    """Whether a topic or queue (by name, URL or ARN) is a FIFO one: AWS marks them by the suffix alone."""
    return name_url_or_arn.endswith(FIFO_SUFFIX)


def fifo_name(name: str) -> str:
    """The FIFO twin of a topic or queue name (AWS insists FIFO names end in `.fifo`)."""
    return name + FIFO_SUFFIX


def fifo_variant(topology: Topology) -> Topology:
    """The same topology on FIFO delivery: every topic and queue name, DLQs included, gets `.fifo`.

    A FIFO queue may only dead-letter into a FIFO queue, so the DLQs change kind with their queues.
    Filters, timeouts, receive counts and the bucket stay as declared.
    """
    if topology.is_fifo:
        return topology
    queues = {
        service: replace(spec, name=fifo_name(spec.name), dlq_name=fifo_name(spec.dlq_name))
        for service, spec in topology.queues.items()
    }
    return replace(topology, topic_name=fifo_name(topology.topic_name), queues=queues, delivery="fifo")


def delivery_from_environment() -> Delivery:
    """TASKOVERFLOW_DELIVERY, checked: unset or empty means `standard`; an unknown value raises."""
    value = os.environ.get(DELIVERY_VARIABLE) or "standard"
    if value not in DELIVERIES:
        raise UnknownDelivery(f"{DELIVERY_VARIABLE}={value!r} is not one of {', '.join(DELIVERIES)}")
    return value


def parse_topology(raw: dict[str, Any]) -> Topology:
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
        snapshot_retention_days=int(raw["bucket"]["snapshot_retention_days"]),
        event_archive_prefix=raw["bucket"]["event_archive_prefix"],
        feed_prefix=raw["bucket"]["feed_prefix"],
        queues=queues,
        message_retention_seconds=int(raw["message_retention_seconds"]),
        receive_wait_time_seconds=int(raw["receive_wait_time_seconds"]),
        publishers={service: tuple(event_types) for service, event_types in raw["publishers"].items()},
    )


def load_topology(delivery: Delivery | None = None) -> Topology:
    """The topology for `delivery`, or else for the variant TASKOVERFLOW_DELIVERY selects.

    The environment is read on every call (the file only once per variant), so a test that
    switches the variable gets the other variant instead of a stale cached one.
    """
    return _topology_for(delivery or delivery_from_environment())


@cache
def _topology_for(delivery: Delivery) -> Topology:
    if delivery not in DELIVERIES:
        raise UnknownDelivery(f"delivery {delivery!r} is not one of {', '.join(DELIVERIES)}")
    text = resources.files("taskoverflow_shared").joinpath("topology.json").read_text()
    standard = parse_topology(json.loads(text))
    return fifo_variant(standard) if delivery == "fifo" else standard
