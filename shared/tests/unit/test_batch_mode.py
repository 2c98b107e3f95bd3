"""The consumer loop's batch mode on a fake SQS: delete only what the batch handler did not fail."""

import json
import threading

import pytest

from taskoverflow_shared.batch_mode import BatchMode, HeldBatch, HeldMessage
from taskoverflow_shared.events import Envelope, UnprocessableEvent
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE, SqsConsumer, envelope_text
from tests.support.fake_sqs import FakeSqs


def decode(message: dict) -> dict:
    try:
        return json.loads(envelope_text(message))
    except ValueError:
        raise UnprocessableEvent("not JSON") from None


def batch_consumer(sqs: FakeSqs, handle, *, max_messages=3, **options) -> SqsConsumer:
    mode = BatchMode(
        decode=decode, handle=handle, max_messages=max_messages, max_age_seconds=60, envelope_of=Envelope.model_validate
    )
    return SqsConsumer(
        sqs, sqs.queue_url, sqs.dead_letter_queue_url, {}, 60, wait_time_seconds=0, batch=mode, **options
    )


def test_a_partial_failure_deletes_only_the_messages_that_succeeded():
    sqs = FakeSqs()
    ids = [sqs.send(json.dumps({"n": n})) for n in range(3)]
    batches = []

    def handle(held):
        batches.append([h.item["n"] for h in held])
        return {held[1].message_id}

    result = batch_consumer(sqs, handle).poll_once()

    assert batches == [[0, 1, 2]]
    assert (result.handled, result.failed) == (2, 1)
    assert sqs.deleted == [ids[0], ids[2]]
    assert sqs.released == []  # the failed one comes back after the visibility timeout


def test_a_handler_that_raises_fails_the_whole_batch_and_nothing_is_deleted():
    sqs = FakeSqs()
    for n in range(3):
        sqs.send(json.dumps({"n": n}))

    def handle(held):
        raise ConnectionError("the store is down")

    result = batch_consumer(sqs, handle).poll_once()

    assert (result.handled, result.failed) == (0, 3)
    assert sqs.deleted == []


def test_messages_are_held_across_receives_until_the_batch_is_full():
    sqs = FakeSqs()
    batches = []
    consumer = batch_consumer(sqs, lambda held: batches.append(len(held)) or set())
    sqs.send("{}")
    sqs.send("{}")

    assert consumer.poll_once().held == 2 and batches == []
    sqs.send("{}")
    assert consumer.poll_once().handled == 3 and batches == [3]


def test_a_malformed_message_goes_to_the_dlq_at_once_with_its_reason_and_is_never_handed_over():
    sqs = FakeSqs()
    poison = sqs.send("{not json")
    handled = []
    consumer = batch_consumer(sqs, lambda held: handled.extend(h.item for h in held) or set(), max_messages=1)
    sqs.send('{"n": 1}')

    consumer.poll_once()
    consumer.poll_once()

    [(body, attributes, group)] = sqs.dead_letters
    assert (body, attributes[DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"], group) == ("{not json", "not JSON", None)
    assert poison in sqs.deleted
    assert handled == [{"n": 1}]


def test_on_a_fifo_queue_a_dead_letter_keeps_its_message_group():
    sqs = FakeSqs(dead_letter_queue_url="https://sqs.fake/000000000000/queue-dlq.fifo")
    sqs.send("{not json", group="todos/9")

    batch_consumer(sqs, lambda held: set()).poll_once()

    [(_, _, group)] = sqs.dead_letters
    assert group == "todos/9"


def test_when_the_dlq_refuses_the_malformed_message_stays_on_the_queue():
    sqs = FakeSqs(refuse_dead_letters=True)
    sqs.send("{not json")

    consumer = batch_consumer(sqs, lambda held: set())
    with pytest.raises(RuntimeError, match="could not dead-letter"):
        consumer.poll_once()

    assert sqs.deleted == []


def test_on_stop_what_is_held_is_handed_over_and_what_fails_is_released_at_once():
    sqs = FakeSqs()
    ids = [sqs.send(json.dumps({"n": n})) for n in range(2)]
    consumer = batch_consumer(sqs, lambda held: {held[0].message_id}, max_messages=10)
    consumer.poll_once()
    stop = threading.Event()
    stop.set()

    consumer.run(stop)

    assert sqs.deleted == [ids[1]] and sqs.released == [ids[0]]


def test_an_sns_notification_is_unwrapped_before_decoding():
    sqs = FakeSqs()
    sqs.send(json.dumps({"Type": "Notification", "MessageId": "x", "Message": '{"n": 7}'}))
    items = []

    batch_consumer(sqs, lambda held: items.extend(h.item for h in held) or set(), max_messages=1).poll_once()

    assert items == [{"n": 7}]


# --- when a batch is due (pure) ------------------------------------------------------------------


def held(n: int) -> HeldMessage:
    return HeldMessage({"MessageId": f"m{n}"}, n)


def test_an_empty_batch_is_never_due_and_lets_the_poll_wait_fully():
    batch = HeldBatch(max_messages=2, max_age_seconds=5)

    assert not batch.is_due(now=1000)
    assert batch.receive_wait_seconds(now=1000, longest=20) == 20


def test_a_batch_is_due_when_its_oldest_message_is_old_enough():
    batch = HeldBatch(max_messages=10, max_age_seconds=5)
    batch.add(held(1), now=100)
    batch.add(held(2), now=104)

    assert not batch.is_due(now=104.9)
    assert batch.receive_wait_seconds(now=103.5, longest=20) == 2  # rounded up: at most a second late
    assert batch.is_due(now=105)


def test_a_batch_is_due_when_full_and_taking_it_empties_it():
    batch = HeldBatch(max_messages=2, max_age_seconds=5)
    batch.add(held(1), now=100)
    batch.add(held(2), now=100)

    assert batch.is_due(now=100) and batch.room == 0
    assert len(batch.take()) == 2
    assert not batch.is_due(now=200) and batch.room == 2
