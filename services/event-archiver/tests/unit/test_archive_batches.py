"""The archiver on the shared loop's batch mode, with a fake SQS and store: acknowledge only what was stored."""

import json
import threading
from datetime import UTC, datetime, timedelta

import structlog
from structlog.testing import capture_logs

from event_archiver.bootstrap import bootstrap
from event_archiver.config import Settings

T0 = datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC)


def archiver(fake_sqs, fake_store, *, flush_events=100):
    settings = Settings.from_environment(
        {"EVENT_ARCHIVER_FLUSH_EVENTS": str(flush_events), "EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS": "0"}
    )
    return bootstrap(settings, sqs=fake_sqs, store=fake_store)


def archived_ids(store) -> list[str]:
    return [json.loads(line)["envelope"]["id"] for body in store.objects.values() for line in body.splitlines()]


def test_messages_are_deleted_after_their_batch_is_stored_one_object_per_event_hour(fake_sqs, fake_store, envelopes):
    before_midnight = envelopes.todo_changed().model_copy(update={"time": T0})
    after_midnight = envelopes.calendar_requested().model_copy(update={"time": T0 + timedelta(seconds=2)})
    sent = [fake_sqs.send(e.model_dump_json()) for e in (before_midnight, after_midnight)]

    result = archiver(fake_sqs, fake_store, flush_events=2).poll_once()

    assert (result.handled, result.failed, result.held) == (2, 0, 0)
    assert sorted(key.rsplit("/", 1)[0] for key in fake_store.objects) == [
        "event-archive/2026/11/27/23",
        "event-archive/2026/11/28/00",
    ]
    assert fake_sqs.deleted == sent


def test_each_archived_event_gets_a_log_line_with_its_ids_and_object(fake_sqs, fake_store, envelopes):
    events = [envelopes.todo_changed().model_copy(update={"time": T0 + timedelta(seconds=s)}) for s in (0, 2)]
    for event in events:
        fake_sqs.send(event.model_dump_json())

    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        archiver(fake_sqs, fake_store, flush_events=2).poll_once()

    archived = [line for line in logs if line["event"] == "event_archived"]
    assert [(line["event_id"], line["correlation_id"]) for line in archived] == [
        (event.id, event.correlation_id) for event in events
    ]
    assert {line["key"] for line in archived} == set(fake_store.objects)
    assert archived[0]["key"].startswith("event-archive/2026/11/27/23/")
    assert archived[1]["key"].startswith("event-archive/2026/11/28/00/")


def test_a_batch_is_held_until_it_is_full(fake_sqs, fake_store, envelopes):
    archive = archiver(fake_sqs, fake_store, flush_events=3)
    for version in (1, 2):
        fake_sqs.send(envelopes.todo_changed(version).model_dump_json())

    assert archive.poll_once().held == 2
    assert fake_store.objects == {} and fake_sqs.deleted == []

    fake_sqs.send(envelopes.todo_changed(3).model_dump_json())
    assert archive.poll_once().handled == 3
    assert fake_sqs.deleted == ["m0", "m1", "m2"]


def test_when_one_put_of_a_batch_fails_no_message_is_deleted_or_held(fake_sqs, fake_store, envelopes):
    fake_store.failing_puts = {1}  # the second object of the batch
    for moment in (T0, T0 + timedelta(hours=1)):
        fake_sqs.send(envelopes.todo_changed().model_copy(update={"time": moment}).model_dump_json())
    archive = archiver(fake_sqs, fake_store, flush_events=2)

    result = archive.poll_once()

    assert (result.handled, result.failed) == (0, 2)
    assert fake_sqs.deleted == [] and fake_sqs.released == []  # they come back after the visibility timeout
    assert archive.held == 0


def test_the_same_messages_redelivered_after_a_failed_batch_are_archived_and_deleted(fake_sqs, fake_store, envelopes):
    fake_store.failing_puts = {0}
    body = envelopes.todo_changed().model_dump_json()
    fake_sqs.send(body)
    archive = archiver(fake_sqs, fake_store, flush_events=1)
    assert archive.poll_once().failed == 1

    redelivered = fake_sqs.send(body)
    assert archive.poll_once().handled == 1

    assert fake_sqs.deleted == [redelivered]
    assert archived_ids(fake_store) == [json.loads(body)["id"]]


def test_a_body_that_is_no_envelope_is_dead_lettered_with_its_reason_and_the_valid_ones_behind_it_are_archived(
    fake_sqs, fake_store, envelopes
):
    poison = fake_sqs.send("{not json", attributes={"type": {"DataType": "String", "StringValue": "TodoChanged"}})
    valid = [envelopes.todo_changed(version) for version in (1, 2)]
    for envelope in valid:
        fake_sqs.send(envelope.model_dump_json())

    archive = archiver(fake_sqs, fake_store, flush_events=2)
    archive.poll_once()
    archive.poll_once()

    [(body, attributes, group)] = fake_sqs.dead_letters
    assert (body, group) == ("{not json", None)
    assert attributes["dead_letter_reason"]["StringValue"].startswith("invalid envelope: body: Invalid JSON")
    assert attributes["type"]["StringValue"] == "TodoChanged"  # the message's own attributes travel with it
    assert poison in fake_sqs.deleted
    assert archived_ids(fake_store) == [envelope.id for envelope in valid]


def test_an_envelope_wrapped_by_sns_is_archived_as_the_envelope(fake_sqs, fake_store, envelopes):
    envelope = envelopes.calendar_requested()
    fake_sqs.send(json.dumps({"Type": "Notification", "MessageId": "x", "Message": envelope.model_dump_json()}))

    archiver(fake_sqs, fake_store, flush_events=1).poll_once()

    [body] = fake_store.objects.values()
    assert json.loads(body)["envelope"] == json.loads(envelope.model_dump_json())


def test_on_stop_what_is_held_is_stored_before_the_loop_returns(fake_sqs, fake_store, envelopes):
    envelope = envelopes.todo_changed()
    fake_sqs.send(envelope.model_dump_json())
    archive = archiver(fake_sqs, fake_store, flush_events=100)
    archive.poll_once()
    stop = threading.Event()
    stop.set()

    archive.run(stop)

    assert archived_ids(fake_store) == [envelope.id]
    assert fake_sqs.deleted == ["m0"]


def test_on_stop_a_batch_that_cannot_be_stored_is_released_for_another_worker(fake_sqs, fake_store, envelopes):
    fake_store.failing_puts = {0}
    fake_sqs.send(envelopes.todo_changed().model_dump_json())
    archive = archiver(fake_sqs, fake_store, flush_events=100)
    archive.poll_once()
    stop = threading.Event()
    stop.set()

    archive.run(stop)

    assert fake_sqs.released == ["m0"] and fake_sqs.deleted == []
