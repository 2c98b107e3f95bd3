"""Fakes for the ports: dictionaries and lists that behave like S3 and SNS for the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ical_worker.config import Settings
from ical_worker.domain import InvalidSnapshot
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
