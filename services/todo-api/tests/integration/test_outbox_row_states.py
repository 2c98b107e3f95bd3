"""The outbox's row states against real moto over HTTP: a row that cannot be published is parked
with its reason while the rest keep flowing; an outage parks nothing; a publish whose commit is
lost is repeated byte for byte, and the snapshot it points to is never rewritten."""

from __future__ import annotations

import contextlib
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert, select, text, update

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarRequested, S3ObjectRef, TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from tests.support.sqs import receive_all
from todo_api.adapters import outbox
from todo_api.adapters.calendar_requests import CalendarRequestCompleter
from todo_api.adapters.calendar_storage import S3CalendarFiles
from todo_api.adapters.database import upgrade_to_latest
from todo_api.adapters.orm import OutboxRow, todos
from todo_api.adapters.outbox import PublishIncomplete
from todo_api.bootstrap import bootstrap, build_relay
from todo_api.domain.commands import CalendarRequest, RequestCalendar

from ..conftest import settings_for
from .test_outages import unreachable_s3
from .test_outbox_events import receive_events, subscribe_test_queue

SNAPSHOT_BUCKET = "taskoverflow-calendars"


@pytest.fixture
def real_api(database_url, topology_addresses):
    """The todo-api on real S3 (moto), small inline limit so calendars go by snapshot."""
    api = bootstrap(settings_for(database_url, inline_todos_max_bytes=1024, outbox_max_attempts=3))
    upgrade_to_latest(api.engine)
    yield api
    api.engine.dispose()


def record_changes(api, count: int, *, padding: int = 0) -> list[str]:
    """`count` TodoChanged rows (a todo each); returns their event ids."""
    now = datetime.now(UTC).isoformat()
    ids = []
    with api.session_factory() as session, session.begin():
        for todo in range(1, count + 1):
            state = {
                "id": todo,
                "title": "t",
                "description": "d",
                "completed": False,
                "created_at": now,
                "updated_at": now,
            }
            change = TodoChanged(action="created", todo=state, version=1)
            envelope = new_envelope(change, source="test", correlation_id="c", subject=f"todos/{todo}")
            if padding:  # an attribute nobody knows is kept: this one makes the event too large to send
                envelope = envelope.model_copy(update={"padding": "x" * padding})
            outbox.record(session, envelope)
            ids.append(envelope.id)
    return ids


def add_todos(api, count: int, title: str = "todo") -> None:
    now = datetime.now(UTC)
    with api.session_factory() as session, session.begin():
        session.execute(
            insert(todos),
            [
                {"title": f"{title} {n}", "completed": False, "created_at": now, "updated_at": now, "version": 1}
                for n in range(count)
            ],
        )


def rows(api) -> dict[str, OutboxRow]:
    with api.session_factory() as session:
        return {row.event_id: row for row in session.scalars(select(OutboxRow))}


def relay_until_idle(relay, rounds: int = 20) -> None:
    """What the relay's loop does, without its waits: rounds until nothing is pending."""
    for _ in range(rounds):
        if not relay.has_pending():
            return
        with contextlib.suppress(PublishIncomplete):
            relay.relay_once()
    raise AssertionError("the outbox still has pending rows")


def snapshot_keys() -> list[str]:
    listed = make_client("s3").list_objects_v2(Bucket=SNAPSHOT_BUCKET, Prefix="snapshots/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_an_event_too_large_for_a_message_is_parked_and_the_events_behind_it_go_out(real_api, topology_addresses):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    before = record_changes(real_api, 5)
    (too_large,) = record_changes(real_api, 1, padding=300 * 1024)
    after = record_changes(real_api, 5)
    relay = build_relay(real_api)

    assert relay.relay_once() == 10  # one round: the large row does not hold the batch back

    assert {body["id"] for body in receive_events(listener, 10)} == set(before + after)
    parked = rows(real_api)[too_large]
    assert parked.parked_at is not None and parked.published_at is None
    assert parked.parked_reason.startswith(f"MessageTooLarge: TodoChanged {too_large} is ")
    assert not relay.has_pending()
    relay.close()


class RefusingEntriesSns:
    """The real SNS client, except that the chosen events' entries carry a deduplication id,
    which a standard topic refuses entry by entry (InvalidParameter, the sender's fault)."""

    def __init__(self, sns, refused: set[str]) -> None:
        self.sns, self.refused = sns, refused

    def publish_batch(self, TopicArn, PublishBatchRequestEntries):
        entries = [
            entry | {"MessageDeduplicationId": "refused"} if entry["Id"] in self.refused else entry
            for entry in PublishBatchRequestEntries
        ]
        return self.sns.publish_batch(TopicArn=TopicArn, PublishBatchRequestEntries=entries)


def test_an_entry_sns_refuses_for_the_sender_s_fault_is_parked_at_once(real_api, topology_addresses):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    event_ids = record_changes(real_api, 12)
    refused = event_ids[3]
    publisher = SnsPublisher(RefusingEntriesSns(make_client("sns"), {refused}), topology_addresses.topic_arn)
    relay = build_relay(real_api, publisher)

    assert relay.relay_once() == 11

    assert {body["id"] for body in receive_events(listener, 11)} == set(event_ids) - {refused}
    parked = rows(real_api)[refused]
    assert parked.parked_reason.startswith("InvalidParameter: ")
    assert parked.attempts == 0  # parked at once: no retry can change the sender's fault
    assert not relay.has_pending()
    relay.close()


def test_an_envelope_that_fails_validation_is_parked_and_the_rest_go_out(real_api, topology_addresses):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    event_ids = record_changes(real_api, 3)
    with real_api.session_factory() as session, session.begin():
        session.execute(update(OutboxRow).where(OutboxRow.event_id == event_ids[0]).values(envelope='{"type": 1}'))
    relay = build_relay(real_api)

    assert relay.relay_once() == 2

    assert {body["id"] for body in receive_events(listener, 2)} == set(event_ids[1:])
    assert rows(real_api)[event_ids[0]].parked_reason.startswith("the stored envelope is not valid: ")
    relay.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_while_s3_is_unreachable_a_calendar_request_waits_unparked_and_changes_still_flow(real_api, topology_addresses):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    add_todos(real_api, 50)
    job_id = real_api.bus.handle(RequestCalendar(CalendarRequest(), "req-1"))
    changes = record_changes(real_api, 4)
    relay = build_relay(real_api)
    files: S3CalendarFiles = relay.completers["CalendarRequested"].files
    reachable, files.s3 = files.s3, unreachable_s3()

    for _ in range(5):  # more rounds than OUTBOX_MAX_ATTEMPTS: an outage counts against no row
        with pytest.raises(Exception, match="Could not connect"):
            relay.relay_once()

    assert {body["id"] for body in receive_events(listener, 4)} == set(changes)
    (request,) = [row for row in rows(real_api).values() if row.event_type == "CalendarRequested"]
    assert (request.parked_at, request.attempts, request.published_at) == (None, 0, None)

    files.s3 = reachable
    assert relay.relay_once() == 1
    (body,) = receive_events(listener, 1)
    assert body["data"]["job_id"] == job_id
    assert body["data"]["snapshot"]["key"] == f"snapshots/{body['data']['snapshot']['sha256']}.ndjson"
    relay.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_snapshot_s3_refuses_to_store_is_parked_after_the_attempts_and_goes_out_when_retried(
    real_api, topology_addresses
):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    add_todos(real_api, 50)
    real_api.bus.handle(RequestCalendar(CalendarRequest(), "req-1"))
    make_client("s3").delete_bucket(Bucket=SNAPSHOT_BUCKET)  # a bucket that is gone: no wait brings it back
    relay = build_relay(real_api)

    relay_until_idle(relay)

    (request,) = rows(real_api).values()
    assert request.attempts == 3 and request.parked_at is not None
    assert request.parked_reason.startswith("gave up after 3 attempts; last error: NoSuchBucket: ")

    make_client("s3").create_bucket(Bucket=SNAPSHOT_BUCKET)
    with real_api.session_factory() as session, session.begin():  # what `taskoverflow outbox retry` does
        session.execute(update(OutboxRow).values(parked_at=None, parked_reason=None, attempts=0))
    assert relay.relay_once() == 1
    assert receive_events(listener, 1)[0]["data"]["todo_count"] == 50
    relay.close()


class PublishThenLoseTheConnection:
    """The real publisher; once SNS accepted the batch, the relay's database connection is cut,
    so the commit that would mark the rows published fails."""

    def __init__(self, publisher: SnsPublisher, database_url: str) -> None:
        self.publisher, self.database_url, self.cuts = publisher, database_url, 1

    def publish_reporting(self, envelopes):
        report = self.publisher.publish_reporting(envelopes)
        if self.cuts:
            self.cuts -= 1
            engine = create_engine(self.database_url)
            with engine.connect() as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            engine.dispose()
        return report


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_publish_whose_commit_is_lost_is_repeated_byte_for_byte_and_the_snapshot_stays(
    real_api, topology_addresses, database_url
):
    listener = subscribe_test_queue(topology_addresses.topic_arn)
    add_todos(real_api, 200, title="before")
    real_api.bus.handle(RequestCalendar(CalendarRequest(), "req-1"))
    publisher = PublishThenLoseTheConnection(
        SnsPublisher(make_client("sns"), topology_addresses.topic_arn), database_url
    )
    relay = build_relay(real_api, publisher)

    with pytest.raises(Exception):  # noqa: B017 - the commit fails in whatever way the driver says
        relay.relay_once()
    (first,) = receive_all(make_client("sqs"), listener, 1)
    assert relay.has_pending()  # SNS took it, but the mark was lost with the connection

    add_todos(real_api, 100, title="after")  # a completion now would read other todos
    assert relay.relay_once() == 1

    (again,) = receive_all(make_client("sqs"), listener, 1)
    assert again["Body"] == first["Body"]  # the stored completed envelope, not a new completion
    keys = snapshot_keys()
    assert len(keys) == 1  # one snapshot, written once: its checksum in the message holds
    stored = make_client("s3").get_object(Bucket=SNAPSHOT_BUCKET, Key=keys[0])["Body"].read()
    assert stored.count(b"\n") == 200 and b"after" not in stored
    relay.close()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_retention_deletes_only_published_rows_older_than_the_retention_in_batches(real_api):
    old = datetime.now(UTC) - timedelta(hours=200)
    kept_published = record_changes(real_api, 2)
    old_published = record_changes(real_api, outbox.RETENTION_BATCH_ROWS + 7)
    pending, parked = record_changes(real_api, 2)
    with real_api.session_factory() as session, session.begin():
        session.execute(update(OutboxRow).where(OutboxRow.event_id.in_(old_published)).values(published_at=old))
        session.execute(
            update(OutboxRow).where(OutboxRow.event_id.in_(kept_published)).values(published_at=datetime.now(UTC))
        )
        session.execute(update(OutboxRow).where(OutboxRow.event_id == parked).values(parked_at=old, parked_reason="x"))
        session.execute(update(OutboxRow).where(OutboxRow.event_id == pending).values(created_at=old))
    relay = build_relay(real_api)

    assert relay.forget_old_published() == len(old_published)

    assert set(rows(real_api)) == {*kept_published, pending, parked}
    relay.close()


class ChunkReadingFiles:
    """Reads a snapshot the way an upload does, a chunk at a time, and keeps nothing."""

    def put_snapshot(self, body, *, size_bytes: int, sha256: str) -> S3ObjectRef:
        read = 0
        while chunk := body.read(64 * 1024):
            read += len(chunk)
        assert read == size_bytes
        return S3ObjectRef(bucket="fake", key=f"snapshots/{sha256}.ndjson", size_bytes=size_bytes, sha256=sha256)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_snapshot_of_20k_todos_is_streamed_without_holding_them_in_memory(database_url):
    api = bootstrap(settings_for(database_url), calendar_files=ChunkReadingFiles())
    upgrade_to_latest(api.engine)
    add_todos(api, 20_000, title="a todo with a title of some length " + "x" * 40)
    completer = CalendarRequestCompleter(api.calendar_files, 1024)
    request = new_envelope(CalendarRequested(job_id="j", todo_count=0, todos=[]), source="t", correlation_id="c")

    tracemalloc.start()
    try:
        with api.session_factory() as session:
            completed = completer(session, request)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    snapshot = completed.data["snapshot"]
    assert completed.data["todo_count"] == 20_000 and snapshot["size_bytes"] > 4 * 2**20
    # Holding the todos (as the relay did before) peaked at about 7 times the snapshot's size.
    assert peak < snapshot["size_bytes"] / 2
    api.engine.dispose()
