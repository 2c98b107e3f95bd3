"""on_calendar_requested, wired by bootstrap() to fakes and called exactly as the SqsConsumer calls it."""

from __future__ import annotations

import hashlib

import pytest

from ical_worker.bootstrap import bootstrap
from taskoverflow_shared.events import (
    CalendarFailed,
    CalendarReady,
    CalendarRequested,
    Envelope,
    new_envelope,
    parse_data,
)
from taskoverflow_shared.metrics import Metrics

JOB = "4f1c2a9e-0d7b-4c55-9a38-2f0b6d1e7c11"


@pytest.fixture
def handle(settings, snapshots, calendars, publish):
    handlers = bootstrap(settings, snapshots=snapshots, calendars=calendars, publish=publish)

    def handle(envelope: Envelope) -> None:
        handlers[envelope.type](envelope, parse_data(envelope))

    return handle


def request(job_id: str = JOB, correlation_id: str = "corr-7", **data: object) -> Envelope:
    return new_envelope(
        CalendarRequested(job_id=job_id, notify_email="ada@example.com", **data),
        source="todo-api",
        correlation_id=correlation_id,
        subject=f"calendars/{job_id}",
    )


def store_snapshot(kit, snapshots, body: bytes, job_id: str = JOB):
    ref = kit.snapshot_ref(body, key=f"snapshots/{job_id}.ndjson")
    snapshots.objects[(ref.bucket, ref.key)] = body
    return ref


def only_event(publish) -> tuple[Envelope, CalendarReady | CalendarFailed]:
    (envelope,) = publish.published
    return envelope, parse_data(envelope)


def test_an_inline_request_stores_the_calendar_and_announces_calendar_ready(
    kit, handle, snapshots, calendars, publish
) -> None:
    todos = [kit.make_todo(1), kit.make_todo(2, deadline_at=None), kit.make_todo(3)]

    handle(request(todo_count=3, todos=todos))

    body = calendars.objects[("taskoverflow-calendars", f"calendars/{JOB}.ics")]
    envelope, ready = only_event(publish)
    assert ready == CalendarReady(
        job_id=JOB,
        bucket="taskoverflow-calendars",
        key=f"calendars/{JOB}.ics",
        size_bytes=len(body),
        event_count=2,
        sha256=hashlib.sha256(body).hexdigest(),
        notify_email="ada@example.com",
    )
    assert (envelope.source, envelope.correlation_id, envelope.subject) == ("ical-worker", "corr-7", f"calendars/{JOB}")
    assert len(kit.read_ics(body).events) == 2
    assert snapshots.reads == []


def test_a_snapshot_request_reads_the_snapshot_once_and_renders_it(kit, handle, snapshots, calendars, publish) -> None:
    todos = kit.many_todos(1000)
    ref = store_snapshot(kit, snapshots, kit.ndjson(todos))

    handle(request(todo_count=1000, snapshot=ref))

    body = calendars.objects[("taskoverflow-calendars", f"calendars/{JOB}.ics")]
    _, ready = only_event(publish)
    assert isinstance(ready, CalendarReady)
    assert ready.event_count == 900 == len(kit.read_ics(body).events)
    assert ready.sha256 == hashlib.sha256(body).hexdigest()
    assert snapshots.reads == [ref.key]
    assert calendars.puts == 1


def test_a_duplicate_delivery_writes_identical_bytes_and_announces_the_same_event(
    kit, handle, snapshots, calendars, publish
) -> None:
    ref = store_snapshot(kit, snapshots, kit.ndjson(kit.many_todos(300)))
    message = request(todo_count=300, snapshot=ref)

    handle(message)
    first_body = calendars.objects[("taskoverflow-calendars", f"calendars/{JOB}.ics")]
    handle(message)

    assert calendars.objects[("taskoverflow-calendars", f"calendars/{JOB}.ics")] == first_body
    assert len(calendars.objects) == 1
    first, second = publish.published
    assert first.data == second.data
    assert (first.type, first.correlation_id, first.subject) == (second.type, second.correlation_id, second.subject)
    assert first.id == second.id, "one announcement, so the notifier's per-event deduplication holds"


def test_a_snapshot_with_a_wrong_checksum_ends_in_calendar_failed(kit, handle, snapshots, calendars, publish) -> None:
    body = kit.ndjson(kit.many_todos(10))
    ref = store_snapshot(kit, snapshots, body)
    snapshots.objects[(ref.bucket, ref.key)] = body.replace(b"Todo 3", b"Todo 8")

    handle(request(todo_count=10, snapshot=ref))

    envelope, failed = only_event(publish)
    assert isinstance(failed, CalendarFailed)
    assert failed.job_id == JOB and "sha256" in failed.reason
    assert failed.notify_email == "ada@example.com"
    assert (envelope.correlation_id, envelope.subject) == ("corr-7", f"calendars/{JOB}")
    assert calendars.objects == {}


def test_a_snapshot_line_that_is_not_a_todo_ends_in_calendar_failed(kit, handle, snapshots, calendars, publish) -> None:
    lines = kit.ndjson(kit.many_todos(5)).splitlines(keepends=True)
    lines[3] = b'{"id": 4, "title": "half a todo"}\n'
    ref = store_snapshot(kit, snapshots, b"".join(lines))

    handle(request(todo_count=5, snapshot=ref))

    _, failed = only_event(publish)
    assert isinstance(failed, CalendarFailed)
    assert "line 4 is not a todo" in failed.reason
    assert calendars.objects == {}


def test_a_missing_snapshot_ends_in_calendar_failed(kit, handle, calendars, publish) -> None:
    ref = kit.snapshot_ref(b"{}\n", key=f"snapshots/{JOB}.ndjson")

    handle(request(todo_count=1, snapshot=ref))

    _, failed = only_event(publish)
    assert isinstance(failed, CalendarFailed) and "does not exist" in failed.reason
    assert calendars.objects == {}


def test_a_snapshot_outside_the_snapshot_prefix_is_not_even_read(kit, handle, snapshots, publish) -> None:
    ref = kit.snapshot_ref(b"", key="calendars/someone-elses.ics")

    handle(request(todo_count=0, snapshot=ref))

    _, failed = only_event(publish)
    assert isinstance(failed, CalendarFailed) and "outside" in failed.reason
    assert snapshots.reads == []


def test_a_bad_deadline_ends_in_calendar_failed_naming_the_todo(kit, handle, calendars, publish) -> None:
    todos = [kit.make_todo(1), kit.make_todo(2, deadline_at="2025-13-01T00:00:00")]

    handle(request(todo_count=2, todos=todos))

    _, failed = only_event(publish)
    assert isinstance(failed, CalendarFailed) and failed.reason.startswith("todo 2: deadline_at")
    assert calendars.objects == {}


def test_a_job_id_that_cannot_name_a_file_ends_in_calendar_failed(kit, handle, calendars, publish) -> None:
    handle(request(job_id="../../etc/passwd", todo_count=1, todos=[kit.make_todo(1)]))

    _, failed = only_event(publish)
    assert isinstance(failed, CalendarFailed) and "cannot name a calendar file" in failed.reason
    assert calendars.objects == {}


def test_an_unreachable_s3_raises_so_the_message_is_retried(kit, handle, snapshots, calendars, publish) -> None:
    ref = store_snapshot(kit, snapshots, kit.ndjson(kit.many_todos(3)))
    snapshots.unreachable = True

    with pytest.raises(ConnectionError):
        handle(request(todo_count=3, snapshot=ref))

    assert publish.published == [] and calendars.objects == {}


def test_an_unreachable_sns_raises_after_storing_and_the_retry_gives_the_same_result(
    kit, handle, calendars, publish
) -> None:
    message = request(todo_count=2, todos=[kit.make_todo(1), kit.make_todo(2)])
    publish.unreachable = True
    with pytest.raises(ConnectionError):
        handle(message)
    first_body = calendars.objects[("taskoverflow-calendars", f"calendars/{JOB}.ics")]

    publish.unreachable = False
    handle(message)

    assert calendars.objects[("taskoverflow-calendars", f"calendars/{JOB}.ics")] == first_body
    _, ready = only_event(publish)
    assert isinstance(ready, CalendarReady) and ready.sha256 == hashlib.sha256(first_body).hexdigest()


def test_a_todo_count_that_disagrees_with_the_todos_does_not_fail_the_job(kit, handle, publish) -> None:
    handle(request(todo_count=5, todos=[kit.make_todo(1)]))

    _, ready = only_event(publish)
    assert isinstance(ready, CalendarReady) and ready.event_count == 1


def test_each_rendered_calendar_is_timed_and_its_size_measured_and_a_failed_one_is_not(
    kit, settings, snapshots, calendars, publish
) -> None:
    metrics = Metrics("ical-worker")
    handlers = bootstrap(settings, snapshots=snapshots, calendars=calendars, publish=publish, metrics=metrics)
    ready = request(todo_count=1, todos=[kit.make_todo(1)])
    missing_snapshot = request(job_id="another-job", todo_count=1, snapshot=kit.snapshot_ref(b"{}\n"))

    for envelope in (ready, missing_snapshot):
        handlers[envelope.type](envelope, parse_data(envelope))

    body = calendars.objects[("taskoverflow-calendars", f"calendars/{JOB}.ics")]
    assert metrics.value("calendar_render_duration") == metrics.value("calendar_size") == 1
    assert f"taskoverflow_calendar_size_bytes_sum {float(len(body))}" in metrics.prometheus_text().decode()
