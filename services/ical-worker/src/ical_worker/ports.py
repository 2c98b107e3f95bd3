"""The small interfaces handlers depend on; adapters/ implements them for AWS, tests with fakes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from taskoverflow_shared.events import Envelope, S3ObjectRef

CALENDAR_CONTENT_TYPE = "text/calendar; charset=utf-8"


class SnapshotReader(Protocol):
    """Port: fetch the bytes of a claim-checked todo snapshot."""

    def read(self, ref: S3ObjectRef) -> bytes:
        """The object's bytes, exactly as stored (the caller verifies size and checksum).

        Raises InvalidSnapshot when the object does not exist: the job can never succeed.
        Anything else (network, throttling, permissions) propagates, so the message is retried.
        """
        ...


class CalendarStore(Protocol):
    """Port: where finished calendars are kept for the todo-api to serve."""

    def put(self, bucket: str, key: str, body: bytes) -> None:
        """Store `body` as CALENDAR_CONTENT_TYPE, overwriting any earlier object (a redelivery
        writes the same bytes). Raises if the object was not stored."""
        ...


class Publish(Protocol):
    """Port: announce one event on the topic."""

    def __call__(self, envelope: Envelope) -> None:
        """Return only once the event was accepted; raise otherwise, so the job is retried."""
        ...


@dataclass(frozen=True)
class StoredState:
    """An owner's feed state as stored, and the tag its next write must name (S3's ETag)."""

    body: bytes
    tag: str


class FeedStore(Protocol):
    """Port: the live calendar feeds, two objects per owner (see topology.FeedKeys)."""

    def read_state(self, key: str) -> StoredState | None:
        """The state object, or None when this owner has none yet."""
        ...

    def put_state(self, key: str, body: bytes, expected_tag: str | None) -> None:
        """Write the state only if it is still the one read (`expected_tag`; None: still absent).

        Raises FeedConflict when another writer got there first.
        """
        ...

    def put_calendar(self, key: str, body: bytes) -> None:
        """Store the rendered feed as CALENDAR_CONTENT_TYPE, overwriting it."""
        ...
