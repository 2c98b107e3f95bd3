"""The shared consumer loop against a real moto server: dispatch, acknowledgement, dead letters."""

import json
import threading

import pytest

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarFailed, TodoChanged, new_envelope
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE, SqsConsumer
from taskoverflow_shared.topology import load_topology
from tests.support.moto import wait_until
from tests.support.sqs import depth, receive_all

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


def make_consumer(addresses, handlers, **overrides):
    queue = addresses.queues["notifier"]
    settings = {"visibility_timeout_seconds": 30, "wait_time_seconds": 0} | overrides
    return SqsConsumer(make_client("sqs"), queue.url, queue.dlq_url, handlers, **settings)


def send(sqs, url, body):
    sqs.send_message(QueueUrl=url, MessageBody=body)


def test_poison_messages_go_to_the_dlq_with_a_reason_and_the_valid_one_behind_them_is_handled(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    valid = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="t", correlation_id="c")
    unknown = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="t", correlation_id="c")
    unknown = unknown.model_copy(update={"type": "TodoArchived"})
    send(sqs, queue.url, "{not json")
    send(sqs, queue.url, unknown.model_dump_json())
    send(sqs, queue.url, valid.model_dump_json())
    handled = []
    consumer = make_consumer(topology_addresses, {"TodoChanged": lambda envelope, data: handled.append(envelope.id)})

    wait_until(lambda: consumer.poll_once() and handled, timeout=10, message="the valid message")

    assert handled == [valid.id]
    reasons = sorted(
        message["MessageAttributes"][DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"]
        for message in receive_all(sqs, queue.dlq_url, 2)
    )
    assert reasons[0].startswith("invalid envelope")
    assert reasons[1] == "no handler for event type 'TodoArchived' on this queue"
    wait_until(lambda: sum(depth(sqs, queue.url)) == 0, timeout=5, message="an empty source queue")


def test_a_handler_that_keeps_failing_ends_in_the_dlq_after_the_redrive_count(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    # Short visibility and redrive count keep the test quick; the mechanism is SQS's own redrive.
    sqs.set_queue_attributes(
        QueueUrl=queue.url,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue.dlq_arn, "maxReceiveCount": 2}),
        },
    )
    failing = new_envelope(CalendarFailed(job_id="j", reason="r"), source="t", correlation_id="c")
    send(sqs, queue.url, failing.model_dump_json())
    attempts = []

    def always_fails(envelope, data):
        attempts.append(envelope.id)
        raise RuntimeError("downstream is down")

    consumer = make_consumer(topology_addresses, {"CalendarFailed": always_fails}, visibility_timeout_seconds=1)

    def moved_to_dlq():
        consumer.poll_once()
        return sum(depth(sqs, queue.dlq_url)) == 1

    wait_until(moved_to_dlq, timeout=20, interval=0.2, message="redrive to the DLQ")
    assert attempts == [failing.id, failing.id]
    assert sum(depth(sqs, queue.url)) == 0


def test_long_work_keeps_the_message_invisible_to_other_consumers(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "2"})
    envelope = new_envelope(CalendarFailed(job_id="j", reason="r"), source="t", correlation_id="c")
    send(sqs, queue.url, envelope.model_dump_json())
    release = threading.Event()
    stop = threading.Event()
    seen_by_other = []

    def slow_handler(envelope, data):
        # Hold the message for more than twice its visibility timeout while another consumer polls.
        other = make_consumer(topology_addresses, {"CalendarFailed": lambda e, d: seen_by_other.append(e.id)})
        for _ in range(5):
            other.wait_time_seconds = 1
            other.poll_once()
        release.set()

    consumer = make_consumer(topology_addresses, {"CalendarFailed": slow_handler}, visibility_timeout_seconds=2)
    worker = threading.Thread(target=consumer.run, args=(stop,))
    worker.start()
    try:
        wait_until(release.is_set, timeout=30, message="the slow handler")
    finally:
        stop.set()
        worker.join(30)
    assert seen_by_other == []
    wait_until(lambda: sum(depth(sqs, queue.url)) == 0, timeout=5, message="the message deleted")


def test_a_batch_on_a_standard_queue_is_handled_concurrently_and_deleted_together(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    envelopes = [
        new_envelope(CalendarFailed(job_id=f"j{n}", reason="r"), source="t", correlation_id="c") for n in range(3)
    ]
    for envelope in envelopes:
        send(sqs, queue.url, envelope.model_dump_json())
    wait_until(lambda: sum(depth(sqs, queue.url)) == 3, timeout=5, message="three queued messages")
    # Each handler waits for the other two: handled one after another, the barrier would break.
    all_three_at_once = threading.Barrier(3, timeout=5)
    handled = []

    def meet_the_others(envelope, data):
        all_three_at_once.wait()
        handled.append(envelope.id)

    consumer = make_consumer(topology_addresses, {"CalendarFailed": meet_the_others}, concurrency=3)
    result = consumer.poll_once()

    assert (result.handled, result.failed) == (3, 0)
    assert sorted(handled) == sorted(e.id for e in envelopes)
    wait_until(lambda: sum(depth(sqs, queue.url)) == 0, timeout=5, message="every message deleted")


def test_a_slow_message_does_not_hold_back_the_messages_that_arrive_after_it(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    slow, quick = (new_envelope(CalendarFailed(job_id=j, reason="r"), source="t", correlation_id="c") for j in "ab")
    slow_started, release_slow, stop = threading.Event(), threading.Event(), threading.Event()
    handled = []

    def handle(envelope, data):
        if envelope.id == slow.id:
            slow_started.set()
            assert release_slow.wait(20)
        handled.append(envelope.id)

    consumer = make_consumer(topology_addresses, {"CalendarFailed": handle}, concurrency=2, wait_time_seconds=1)
    worker = threading.Thread(target=consumer.run, args=(stop,))
    send(sqs, queue.url, slow.model_dump_json())
    worker.start()
    try:
        wait_until(slow_started.is_set, timeout=10, message="the slow message in hand")
        send(sqs, queue.url, quick.model_dump_json())
        wait_until(lambda: quick.id in handled, timeout=10, message="the quick message, while the slow one runs")
        assert handled == [quick.id]
        release_slow.set()
        wait_until(lambda: sum(depth(sqs, queue.url)) == 0, timeout=10, message="both messages deleted")
    finally:
        release_slow.set()
        stop.set()
        worker.join(30)
    assert handled == [quick.id, slow.id]


class CountingSqs:
    """The real client, with the size of every batch a receive returned."""

    def __init__(self, sqs):
        self._sqs = sqs
        self.received_batches: list[int] = []

    def receive_message(self, **kwargs):
        response = self._sqs.receive_message(**kwargs)
        if response.get("Messages"):
            self.received_batches.append(len(response["Messages"]))
        return response

    def __getattr__(self, name):
        return getattr(self._sqs, name)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_batching_window_gathers_a_trickle_of_messages_into_one_receive(topology_addresses, concurrency):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    first, *trickle = (
        new_envelope(CalendarFailed(job_id=f"j{n}", reason="r"), source="t", correlation_id="c") for n in range(3)
    )
    counting = CountingSqs(sqs)
    handled, stop = [], threading.Event()
    consumer = SqsConsumer(
        counting,
        queue.url,
        queue.dlq_url,
        {"CalendarFailed": lambda envelope, data: handled.append(envelope.id)},
        visibility_timeout_seconds=30,
        wait_time_seconds=1,
        concurrency=concurrency,
        batching_window_seconds=3,
    )
    worker = threading.Thread(target=consumer.run, args=(stop,))
    send(sqs, queue.url, first.model_dump_json())
    worker.start()
    try:
        wait_until(lambda: handled == [first.id], timeout=10, message="the first message")
        # A trickle: the two later messages arrive half a second apart, well inside the window.
        for envelope in trickle:
            send(sqs, queue.url, envelope.model_dump_json())
            stop.wait(0.5)
        wait_until(lambda: len(handled) == 3, timeout=10, message="the trickle")
    finally:
        stop.set()
        worker.join(30)
    assert counting.received_batches == [1, 2]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_when_the_dead_letter_send_fails_the_message_comes_back_instead_of_staying_invisible(
    topology_addresses, concurrency
):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "1"})
    send(sqs, queue.url, "{not json")
    counting = CountingSqs(sqs)
    stop = threading.Event()
    missing_dlq = queue.dlq_url + "-that-does-not-exist"
    consumer = SqsConsumer(
        counting,
        queue.url,
        missing_dlq,
        {},
        visibility_timeout_seconds=1,
        wait_time_seconds=1,
        concurrency=concurrency,
    )
    worker = threading.Thread(target=consumer.run, args=(stop,))
    worker.start()
    try:
        # Were its visibility still renewed after the failed send, it would never be received again.
        wait_until(lambda: len(counting.received_batches) >= 3, timeout=20, message="the message received again")
    finally:
        stop.set()
        worker.join(30)


def test_an_event_from_a_source_that_may_not_produce_its_type_goes_to_the_dlq_with_the_reason(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    genuine = new_envelope(CalendarFailed(job_id="j", reason="r"), source="ical-worker", correlation_id="c")
    # The notifier is one of ours, but produces nothing; CalendarFailed comes from the ical-worker
    # (a render failed) or the todo-api (its sweeper failed a job past its deadline).
    forged = new_envelope(CalendarFailed(job_id="j", reason="r"), source="notifier", correlation_id="c")
    invented = new_envelope(CalendarFailed(job_id="j", reason="r"), source="somebody", correlation_id="c")
    for envelope in (forged, invented, genuine):
        send(sqs, queue.url, envelope.model_dump_json())
    handled = []
    consumer = make_consumer(
        topology_addresses,
        {"CalendarFailed": lambda envelope, data: handled.append(envelope.id)},
        producers=load_topology().producers,
    )

    wait_until(lambda: consumer.poll_once() and handled, timeout=10, message="the genuine event")

    assert handled == [genuine.id]
    dead = {
        json.loads(message["Body"])["source"]: message["MessageAttributes"][DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"]
        for message in receive_all(sqs, queue.dlq_url, 2)
    }
    assert dead == {
        "notifier": "unexpected source 'notifier' for CalendarFailed: only ical-worker, todo-api may produce it",
        "somebody": "unexpected source 'somebody' for CalendarFailed: only ical-worker, todo-api may produce it",
    }
