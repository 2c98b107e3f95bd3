"""Fixtures for the todo API's tests: a migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from taskoverflow_shared.events import CalendarReady, S3ObjectRef
from taskoverflow_shared.topology import load_topology
from todo_api.adapters.calendar_storage import CalendarExpired
from todo_api.adapters.database import upgrade_to_latest
from todo_api.bootstrap import TodoApi, bootstrap
from todo_api.config import Settings
from todo_api.entrypoints.flask_app import create_app


@dataclass
class FakeCalendarFiles:
    """In-memory stand-in for S3: snapshots written, calendars served."""

    snapshots: dict[str, bytes] = field(default_factory=dict)
    calendars: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def put_snapshot(self, body: IO[bytes], *, size_bytes: int, sha256: str) -> S3ObjectRef:
        content = body.read()
        assert (len(content), hashlib.sha256(content).hexdigest()) == (size_bytes, sha256)
        key = f"snapshots/{sha256}.ndjson"
        self.snapshots[key] = content
        return S3ObjectRef(bucket="fake", key=key, size_bytes=size_bytes, sha256=sha256)

    def store(self, job_id: str, body: bytes) -> None:
        """Put `body` where the ical-worker stores job `job_id`'s calendar."""
        topology = load_topology()
        self.calendars[(topology.bucket_name, topology.calendar_key(job_id))] = body

    def open_calendar(self, bucket: str, key: str) -> Iterator[bytes]:
        if (bucket, key) not in self.calendars:
            raise CalendarExpired("the calendar has expired; request a new one")
        return iter([self.calendars[(bucket, key)]])


CALENDAR = b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


def calendar_ready(job_id: str, body: bytes = CALENDAR, event_count: int = 0) -> CalendarReady:
    """The CalendarReady the ical-worker sends after storing `body` as job `job_id`'s calendar."""
    topology = load_topology()
    return CalendarReady(
        job_id=job_id,
        bucket=topology.bucket_name,
        key=topology.calendar_key(job_id),
        size_bytes=len(body),
        event_count=event_count,
        sha256=hashlib.sha256(body).hexdigest(),
    )


def settings_for(database_url: str, **overrides) -> Settings:
    values = {
        "database_url": database_url,
        "public_base_url": None,
        "calendar_job_deadline_seconds": 300.0,
        "inline_todos_max_bytes": 128 * 1024,
        "relay_poll_interval_seconds": 0.05,
        "relay_batch_size": 100,
        # The contract and fuzz tests write far faster than a person; the limits have their own tests.
        "rate_limit_writes": "100000/minute",
        "rate_limit_calendars": "100000/minute",
    } | overrides
    return Settings(**values)


class CapturingPublisher:
    """An event publisher that keeps what it is given and reports it all published."""

    def __init__(self) -> None:
        self.envelopes: list = []

    def publish(self, envelopes):
        self.envelopes.extend(envelopes)
        return {envelope.id for envelope in envelopes}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'todos.sqlite3'}"
    return new_postgres_database(request.getfixturevalue("postgres_cluster"))


def new_postgres_database(cluster, prefix: str = "todos") -> str:
    """A fresh, empty database on the test cluster; its URL, as the cluster's superuser."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_url(cluster.url)
    connection = psycopg2.connect(host=admin.host, port=admin.port, user=admin.username, dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return str(admin.set(database=name).render_as_string(hide_password=False))


@pytest.fixture
def calendar_files() -> FakeCalendarFiles:
    return FakeCalendarFiles()


@pytest.fixture
def todo_api(database_url, calendar_files) -> Iterator[TodoApi]:
    api = bootstrap(settings_for(database_url), calendar_files=calendar_files)
    upgrade_to_latest(api.engine)
    yield api
    api.engine.dispose()


@pytest.fixture
def client(todo_api):
    return create_app(todo_api).test_client()
