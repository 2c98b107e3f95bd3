"""The event archive's format on a real moto S3: key layout, round trip, de-duplication, selection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import (
    ARCHIVE_CONTENT_TYPE,
    ArchiveEntry,
    ArchiveFormatError,
    archive_objects,
    archive_partitions,
    hour_prefix,
    read_archive,
    scan_archive,
)
from taskoverflow_shared.events import CalendarRequested, TodoChanged, new_envelope

PREFIX = "event-archive/"
BUCKET = "archive-format-tests"
TODO = {"id": 7, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}
T0 = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)


def todo_changed(time: datetime, subject: str = "todo/7"):
    envelope = new_envelope(
        TodoChanged(action="updated", todo=TODO, version=1), source="todo-api", correlation_id="c", subject=subject
    )
    return envelope.model_copy(update={"time": time})


def calendar_requested(time: datetime):
    envelope = new_envelope(
        CalendarRequested(job_id="j", todo_count=0, todos=[]), source="todo-api", correlation_id="c"
    )
    return envelope.model_copy(update={"time": time})


def entry(envelope, arrived_at: datetime) -> ArchiveEntry:
    return ArchiveEntry.from_envelope_json(envelope.model_dump_json(), arrived_at)


@pytest.fixture
def s3(moto_server):
    moto_server.reset()
    client = make_client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


def store(s3, entries) -> list[str]:
    keys = []
    for archive_object in archive_objects(entries, PREFIX):
        s3.put_object(Bucket=BUCKET, Key=archive_object.key, Body=archive_object.body, ContentType=ARCHIVE_CONTENT_TYPE)
        keys.append(archive_object.key)
    return keys


def ids(events) -> list[str]:
    return [event.envelope.id for event in events]


def test_objects_are_keyed_by_event_hour_then_first_arrival_and_content_hash():
    late_evening, midnight = todo_changed(T0), todo_changed(T0 + timedelta(hours=1, minutes=40))
    arrival = datetime(2026, 11, 28, 0, 15, 0, 123000, tzinfo=UTC)

    objects = archive_objects([entry(midnight, arrival), entry(late_evening, arrival + timedelta(seconds=1))], PREFIX)

    first_arrival_ms = f"{int(arrival.timestamp() * 1000):013d}"
    assert [o.key.rsplit("-", 1)[0] for o in objects] == [
        f"event-archive/2026/11/27/22/{int((arrival + timedelta(seconds=1)).timestamp() * 1000):013d}",
        f"event-archive/2026/11/28/00/{first_arrival_ms}",
    ]
    assert all(
        o.key.endswith(".ndjson") and len(o.key.rsplit("-", 1)[1]) == len("0123456789abcdef.ndjson") for o in objects
    )
    assert hour_prefix(PREFIX, T0) == "event-archive/2026/11/27/22/"


def test_the_same_batch_stored_again_after_a_crash_has_the_same_key():
    entries = [entry(todo_changed(T0), T0), entry(todo_changed(T0), T0 + timedelta(seconds=1))]

    assert archive_objects(entries, PREFIX) == archive_objects(list(reversed(entries)), PREFIX)
    other_batch = archive_objects(entries[:1], PREFIX)
    assert other_batch[0].key != archive_objects(entries, PREFIX)[0].key


def test_each_line_holds_the_envelope_as_delivered_and_its_arrival_time():
    envelope = todo_changed(T0)
    delivered = json.dumps(json.loads(envelope.model_dump_json()), indent=2)  # line breaks between tokens

    [archive_object] = archive_objects([ArchiveEntry.from_envelope_json(delivered, T0)], PREFIX)

    line = archive_object.body.decode()
    assert line.count("\n") == 1 and line.endswith("\n")
    record = json.loads(line)
    assert record["arrived_at"] == "2026-11-27T22:30:00.000Z"
    assert record["envelope"] == json.loads(delivered)


def test_round_trip_yields_every_event_once_in_arrival_order(s3):
    first, second, third = todo_changed(T0), calendar_requested(T0 + timedelta(hours=1)), todo_changed(T0)
    # Two flushes; the second holds a redelivered copy of `first` (stored again after a crash).
    store(s3, [entry(first, T0 + timedelta(seconds=1)), entry(second, T0 + timedelta(seconds=2))])
    store(s3, [entry(third, T0 + timedelta(seconds=3)), entry(first, T0 + timedelta(seconds=4))])

    scan = scan_archive(s3, BUCKET, PREFIX)

    assert ids(scan.events) == [first.id, second.id, third.id]
    assert scan.duplicates_skipped == 1
    assert scan.objects_read == 3
    assert scan.events[0].envelope == first
    assert scan.events[0].arrived_at == T0 + timedelta(seconds=1)


def test_objects_first_arrived_before_the_bound_are_skipped_unread(s3):
    old, recent = todo_changed(T0), todo_changed(T0 + timedelta(seconds=1))
    store(s3, [entry(old, T0)])
    store(s3, [entry(recent, T0 + timedelta(minutes=5))])

    scan = scan_archive(s3, BUCKET, PREFIX, objects_from=T0 + timedelta(minutes=5))

    assert ids(scan.events) == [recent.id]
    assert scan.objects_read == 1


def test_a_late_event_of_an_earlier_hour_comes_after_what_arrived_before_it(s3):
    late = todo_changed(T0)  # event time 22:30, but delivered after the 23:10 event
    on_time = todo_changed(T0 + timedelta(minutes=40))
    store(s3, [entry(on_time, T0 + timedelta(minutes=40)), entry(late, T0 + timedelta(minutes=41))])

    assert ids(read_archive(s3, BUCKET, PREFIX)) == [on_time.id, late.id]


def test_selection_by_window_type_and_subject(s3):
    before = todo_changed(T0 - timedelta(minutes=1))
    start = todo_changed(T0)
    other_subject = todo_changed(T0 + timedelta(minutes=5), subject="todo/8")
    requested = calendar_requested(T0 + timedelta(minutes=10))
    end = todo_changed(T0 + timedelta(hours=1))
    everything = [before, start, other_subject, requested, end]
    store(s3, [entry(envelope, T0 + timedelta(seconds=n)) for n, envelope in enumerate(everything)])
    until = T0 + timedelta(hours=1)

    assert ids(read_archive(s3, BUCKET, PREFIX, since=T0, until=until)) == [start.id, other_subject.id, requested.id]
    assert ids(read_archive(s3, BUCKET, PREFIX, since=T0, types={"TodoChanged"})) == [
        start.id,
        other_subject.id,
        end.id,
    ]
    assert ids(read_archive(s3, BUCKET, PREFIX, until=until, subject="todo/7")) == [before.id, start.id]
    # Naive datetimes are UTC.
    assert ids(read_archive(s3, BUCKET, PREFIX, since=T0.replace(tzinfo=None), until=until.replace(tzinfo=None))) == [
        start.id,
        other_subject.id,
        requested.id,
    ]


def test_a_window_lists_and_reads_only_its_own_hours(s3):
    hours = [datetime(2025, 12, 31, 23, tzinfo=UTC) + timedelta(hours=n) for n in range(4)]
    hours.append(datetime(2026, 3, 1, 5, tzinfo=UTC))
    envelopes = [todo_changed(hour + timedelta(minutes=1)) for hour in hours]
    store(s3, [entry(envelope, T0) for envelope in envelopes])
    listed, read = [], []
    s3.meta.events.register(
        "before-parameter-build.s3.ListObjectsV2", lambda params, **_: listed.append(params["Prefix"])
    )
    s3.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **_: read.append(params["Key"]))

    window = read_archive(
        s3, BUCKET, PREFIX, since=hours[1] + timedelta(minutes=30), until=hours[2] + timedelta(minutes=2)
    )

    assert ids(window) == [envelopes[2].id]  # hour 1's event is at :01, before the window
    assert [key.rsplit("/", 1)[0] for key in read] == ["event-archive/2026/01/01/00", "event-archive/2026/01/01/01"]
    # Descends only into periods overlapping the window: never into 2025, March, or other days.
    assert listed == [
        "event-archive/",
        "event-archive/2026/",
        "event-archive/2026/01/",
        "event-archive/2026/01/01/",
        "event-archive/2026/01/01/00/",
        "event-archive/2026/01/01/01/",
    ]


def test_partitions_span_year_and_month_boundaries(s3):
    moments = [datetime(2025, 12, 31, 23, 59, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, tzinfo=UTC)]
    store(s3, [entry(todo_changed(moment), T0) for moment in moments])

    assert archive_partitions(s3, BUCKET, PREFIX) == ["event-archive/2025/12/31/23/", "event-archive/2026/01/01/00/"]
    assert archive_partitions(s3, BUCKET, PREFIX, since=moments[1]) == ["event-archive/2026/01/01/00/"]
    assert archive_partitions(s3, BUCKET, PREFIX, until=moments[1]) == ["event-archive/2025/12/31/23/"]


def test_an_event_in_the_last_hour_of_year_9999_is_archived_and_read_back(s3):
    last_hour = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    ordinary, far = todo_changed(T0), todo_changed(last_hour)
    store(s3, [entry(ordinary, T0), entry(far, T0 + timedelta(seconds=1))])

    assert archive_partitions(s3, BUCKET, PREFIX)[-1] == "event-archive/9999/12/31/23/"
    assert ids(read_archive(s3, BUCKET, PREFIX)) == [ordinary.id, far.id]
    assert ids(read_archive(s3, BUCKET, PREFIX, since=datetime(9999, 12, 31, 23, tzinfo=UTC))) == [far.id]


def test_a_line_this_format_did_not_write_is_reported_with_its_place(s3):
    s3.put_object(Bucket=BUCKET, Key="event-archive/2026/11/27/22/0000000000001-x.ndjson", Body=b'{"arrived_at": 1}\n')

    with pytest.raises(ArchiveFormatError, match=r"0000000000001-x.ndjson:1"):
        read_archive(s3, BUCKET, PREFIX)
