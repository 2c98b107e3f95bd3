"""A handler's own dependency down (DependencyUnavailable): the loop stops receiving and probes
it, so the waiting messages' receive counts do not climb towards their DLQ."""

import threading

import pytest

from taskoverflow_shared.events import TodoChanged, new_envelope
from taskoverflow_shared.sqs_consumer import DependencyUnavailable, SqsConsumer, outage
from tests.support.fake_sqs import FakeSqs
from tests.support.moto import wait_until

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


@pytest.fixture(autouse=True)
def quick_probes(monkeypatch):
    monkeypatch.setattr(outage, "DEPENDENCY_PROBE_FIRST_SECONDS", 0.01)


def test_no_receive_happens_while_the_dependency_is_down_and_the_message_is_handled_after():
    sqs = FakeSqs()
    body = new_envelope(
        TodoChanged(action="created", todo=TODO, version=1), source="todo-api", correlation_id="c"
    ).model_dump_json()
    sqs.send(body)
    handled: list[str] = []
    database_up = threading.Event()

    def handle(envelope, _data):
        if not database_up.is_set():
            raise DependencyUnavailable("connection refused")
        handled.append(envelope.id)

    receives_at_probe: list[int] = []

    def probe():
        receives_at_probe.append(sqs.receive_calls)
        if len(receives_at_probe) < 4:
            raise ConnectionError("still down")
        database_up.set()
        sqs.send(body)  # the message's visibility timeout ran out meanwhile: it is back

    consumer = SqsConsumer(
        sqs,
        sqs.queue_url,
        sqs.dead_letter_queue_url,
        {"TodoChanged": handle},
        60,
        wait_time_seconds=0,
        dependency_probe=probe,
    )
    stop = threading.Event()
    loop = threading.Thread(target=consumer.run, args=(stop,))
    loop.start()
    try:
        wait_until(lambda: handled, timeout=10, message="the message handled once the database is back")
    finally:
        stop.set()
        loop.join(10)

    assert len(set(receives_at_probe)) == 1, "the loop received while the dependency was down"
    assert receives_at_probe[0] == 1
    assert sqs.dead_letters == []
