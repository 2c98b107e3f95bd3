"""Fakes for the ports: dictionaries and lists that behave like S3 and SNS for the handlers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count

import pytest

from ical_worker.config import Settings
from ical_worker.domain import FeedConflict, InvalidSnapshot
from ical_worker.ports import StoredState
from taskoverflow_shared.events import Envelope, S3ObjectRef


@dataclass
class FakeSnapshots:
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    unreachable: bool = False

    def read(self, ref: S3ObjectRef) -> bytes:
        self.reads.append(ref.key)
        if self.unreachable:
            raise ConnectionError("S3 is unreachable")
        try:
            return self.objects[(ref.bucket, ref.key)]
        except KeyError:
            raise InvalidSnapshot(f"snapshot s3://{ref.bucket}/{ref.key} does not exist") from None


@dataclass
class FakeCalendars:
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    puts: int = 0

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.puts += 1
        self.objects[(bucket, key)] = body


@dataclass
class FakePublish:
    published: list[Envelope] = field(default_factory=list)
    unreachable: bool = False

    def __call__(self, envelope: Envelope) -> None:
        if self.unreachable:
            raise ConnectionError("SNS is unreachable")
        self.published.append(envelope)


@dataclass
class FakeFeeds:
    """S3 for the feeds, conditional writes included: a state put naming a stale tag conflicts.

    `before_state_put` runs just before each state put: a test makes another writer win there.
    """

    objects: dict[str, bytes] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    calendar_puts: int = 0
    state_puts: int = 0
    before_state_put: Callable[[], None] = lambda: None
    # Keys whose puts fail as an unreachable S3 would.
    unreachable: set[str] = field(default_factory=set)
    _versions: count = field(default_factory=count)

    def read_state(self, key: str) -> StoredState | None:
        if key not in self.objects:
            return None
        return StoredState(self.objects[key], self.tags[key])

    def put_state(self, key: str, body: bytes, expected_tag: str | None) -> None:
        self.before_state_put()
        if self.tags.get(key) != expected_tag:
            raise FeedConflict(f"{key} changed")
        self.state_puts += 1
        self._store(key, body)

    def put_calendar(self, key: str, body: bytes) -> None:
        self.calendar_puts += 1
        self._store(key, body)

    def _store(self, key: str, body: bytes) -> None:
        if key in self.unreachable:
            raise ConnectionError("S3 is unreachable")
        self.objects[key] = body
        self.tags[key] = f'"{next(self._versions)}"'


@pytest.fixture
def feeds() -> FakeFeeds:
    return FakeFeeds()


@pytest.fixture
def settings() -> Settings:
    return Settings.from_environment(environ={})


@pytest.fixture
def snapshots() -> FakeSnapshots:
    return FakeSnapshots()


@pytest.fixture
def calendars() -> FakeCalendars:
    return FakeCalendars()


@pytest.fixture
def publish() -> FakePublish:
    return FakePublish()
