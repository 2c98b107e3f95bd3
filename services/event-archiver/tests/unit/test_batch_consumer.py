"""The archive loop with fake queue and store: acknowledge only what was stored, hold nothing that failed."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import structlog
from structlog.testing import capture_logs

from event_archiver.batch_consumer import ArchiveConsumer
from event_archiver.domain.buffer import ArchiveBuffer
from tests.support.moto import wait_until

T0 = datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def consumer(queue, store, *, flush_events=100, flush_seconds=5.0, clock=None) -> ArchiveConsumer:
    return ArchiveConsumer(
        queue=queue,
        store=store,
        prefix="event-archive/",
        buffer=ArchiveBuffer(max_events=flush_events, max_age_seconds=flush_seconds),
        receive_wait_seconds=0,
        clock=clock or Clock(),
    )


def archived_ids(store) -> list[str]:
    return [json.loads(line)["envelope"]["id"] for body in store.objects.values() for line in body.splitlines()]


def test_messages_are_deleted_after_their_batch_is_stored_one_object_per_event_hour(fake_queue, fake_store, envelopes):
    before_midnight = envelopes.todo_changed().model_copy(update={"time": T0})
    after_midnight = envelopes.calendar_requested().model_copy(update={"time": T0 + timedelta(seconds=2)})
    sent = [fake_queue.send(e.model_dump_json()) for e in (before_midnight, after_midnight)]

    result = consumer(fake_queue, fake_store, flush_events=2).poll_once()

    assert result is not None and (result.stored_messages, result.objects) == (2, 2)
    assert sorted(key.rsplit("/", 1)[0] for key in fake_store.objects) == [
        "event-archive/2026/11/27/23",
        "event-archive/2026/11/28/00",
    ]
    assert fake_queue.deleted == [m.message_id for m in sent]


def test_each_archived_event_gets_a_log_line_with_its_ids_and_object(fake_queue, fake_store, envelopes):
    events = [envelopes.todo_changed().model_copy(update={"time": T0 + timedelta(seconds=s)}) for s in (0, 2)]
    for event in events:
        fake_queue.send(event.model_dump_json())

    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        consumer(fake_queue, fake_store, flush_events=2).poll_once()

    archived = [line for line in logs if line["event"] == "event_archived"]
    assert [(line["event_id"], line["correlation_id"]) for line in archived] == [
        (event.id, event.correlation_id) for event in events
    ]
    assert {line["key"] for line in archived} == set(fake_store.objects)
    assert archived[0]["key"].startswith("event-archive/2026/11/27/23/")
    assert archived[1]["key"].startswith("event-archive/2026/11/28/00/")


def test_a_batch_waits_for_its_age_or_size_before_it_is_stored(fake_queue, fake_store, envelopes):
    clock = Clock()
    archive = consumer(fake_queue, fake_store, flush_events=3, flush_seconds=5, clock=clock)
    fake_queue.send(envelopes.todo_changed().model_dump_json())

    assert archive.poll_once() is None
    clock.now = 4.9
    assert archive.poll_once() is None and fake_store.objects == {}
    clock.now = 5.0
    assert archive.poll_once().stored_messages == 1


def test_when_one_put_of_a_flush_fails_no_message_is_deleted_or_held(fake_queue, fake_store, envelopes):
    fake_store.failing_puts = {1}  # the second object of the flush
    for moment in (T0, T0 + timedelta(hours=1)):
        fake_queue.send(envelopes.todo_changed().model_copy(update={"time": moment}).model_dump_json())
    archive = consumer(fake_queue, fake_store, flush_events=2)

    result = archive.poll_once()

    assert result is not None and result.failed
    assert fake_queue.deleted == [] and fake_queue.released == []  # they come back after the visibility timeout
    assert archive.buffer.held == []


def test_the_same_messages_redelivered_after_a_failed_flush_are_archived_and_deleted(fake_queue, fake_store, envelopes):
    fake_store.failing_puts = {0}
    body = envelopes.todo_changed().model_dump_json()
    fake_queue.send(body)
    archive = consumer(fake_queue, fake_store, flush_events=1)
    assert archive.poll_once().failed

    redelivered = fake_queue.send(body)
    assert archive.poll_once().stored_messages == 1

    assert fake_queue.deleted == [redelivered.message_id]
    assert archived_ids(fake_store) == [json.loads(body)["id"]]


def test_a_body_that_is_no_envelope_is_dead_lettered_and_the_valid_ones_behind_it_are_archived(
    fake_queue, fake_store, envelopes
):
    poison = fake_queue.send("{not json")
    valid = [envelopes.todo_changed(version) for version in (1, 2)]
    for envelope in valid:
        fake_queue.send(envelope.model_dump_json())

    archive = consumer(fake_queue, fake_store, flush_events=2)
    archive.poll_once()  # a receive asks for no more than the batch has room for: the poison and one
    archive.poll_once()

    [(dead_id, reason)] = fake_queue.dead_letters
    assert dead_id == poison.message_id and reason.startswith("invalid envelope: body: Invalid JSON")
    assert archived_ids(fake_store) == [envelope.id for envelope in valid]


def test_on_stop_what_is_held_is_stored_before_the_loop_returns(fake_queue, fake_store, envelopes):
    envelope = envelopes.todo_changed()
    fake_queue.send(envelope.model_dump_json())
    archive = consumer(fake_queue, fake_store, flush_events=100, flush_seconds=10)
    archive.poll_once()
    stop = threading.Event()
    stop.set()

    archive.run(stop)

    assert archived_ids(fake_store) == [envelope.id]
    assert fake_queue.deleted == ["m0"]


def test_on_stop_a_batch_that_cannot_be_stored_is_released_for_another_worker(fake_queue, fake_store, envelopes):
    fake_store.failing_puts = {0}
    fake_queue.send(envelopes.todo_changed().model_dump_json())
    archive = consumer(fake_queue, fake_store, flush_events=100, flush_seconds=10)
    archive.poll_once()
    stop = threading.Event()
    stop.set()

    archive.run(stop)

    assert fake_queue.released == ["m0"] and fake_queue.deleted == []


def test_after_a_receive_that_did_not_fill_a_batch_the_next_waits_for_the_batching_window(
    fake_queue, fake_store, envelopes
):
    receive_times: list[float] = []
    receive = fake_queue.receive

    def timed_receive(**kwargs):
        receive_times.append(time.monotonic())
        return receive(**kwargs)

    fake_queue.receive = timed_receive
    fake_queue.send(envelopes.todo_changed().model_dump_json())
    archive = consumer(fake_queue, fake_store, flush_seconds=10, clock=time.monotonic)
    archive.batching_window_seconds = 0.5
    stop = threading.Event()
    loop = threading.Thread(target=archive.run, args=(stop,))
    loop.start()
    try:
        wait_until(lambda: len(receive_times) >= 2, timeout=5, message="a second receive")
    finally:
        stop.set()
        loop.join(10)

    assert receive_times[1] - receive_times[0] >= 0.5
