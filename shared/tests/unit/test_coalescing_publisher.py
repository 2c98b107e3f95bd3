"""Concurrent publishers share PublishBatch requests without acknowledging anything early."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from taskoverflow_shared.events import CalendarFailed, Envelope, new_envelope
from taskoverflow_shared.sns_publisher import CoalescingPublisher
from tests.support.moto import wait_until


def outcome(n: int) -> Envelope:
    return new_envelope(CalendarFailed(job_id=f"job-{n}", reason="r"), source="t", correlation_id="c")


class GatedPublisher:
    """Records each request; the first one waits at the gate, as a slow PublishBatch would."""

    def __init__(self, refuse: set[str] | None = None, fail: bool = False) -> None:
        self.requests: list[list[str]] = []
        self.gate = threading.Event()
        self.first_request_in_flight = threading.Event()
        self.refuse = refuse or set()
        self.fail = fail

    def publish(self, envelopes: Sequence[Envelope]) -> set[str]:
        self.requests.append([envelope.id for envelope in envelopes])
        if len(self.requests) == 1:
            self.first_request_in_flight.set()
            assert self.gate.wait(5)
        if self.fail:
            raise ConnectionError("SNS is unreachable")
        return {envelope.id for envelope in envelopes} - self.refuse


def publish_concurrently(publisher: CoalescingPublisher, gated: GatedPublisher, envelopes: list[Envelope]):
    """The first envelope's request goes out alone; the others arrive while it is in flight."""
    results: dict[str, object] = {}

    def call(envelope: Envelope) -> None:
        try:
            results[envelope.id] = publisher.publish([envelope])
        except Exception as error:
            results[envelope.id] = error

    first = threading.Thread(target=call, args=(envelopes[0],))
    first.start()
    assert gated.first_request_in_flight.wait(5)
    later = [threading.Thread(target=call, args=(envelope,)) for envelope in envelopes[1:]]
    for thread in later:
        thread.start()
    wait_until(lambda: publisher._requests.waiting == len(later), timeout=5, message="the later callers to queue up")
    gated.gate.set()
    for thread in [first, *later]:
        thread.join(5)
    return results


def test_callers_arriving_during_a_request_share_the_next_one():
    gated = GatedPublisher()
    envelopes = [outcome(n) for n in range(5)]

    results = publish_concurrently(CoalescingPublisher(gated), gated, envelopes)

    assert len(gated.requests) == 2
    assert gated.requests[0] == [envelopes[0].id]
    assert sorted(gated.requests[1]) == sorted(envelope.id for envelope in envelopes[1:])
    assert results == {envelope.id: {envelope.id} for envelope in envelopes}


def test_each_caller_learns_only_about_its_own_events():
    refused = outcome(2)
    gated = GatedPublisher(refuse={refused.id})
    envelopes = [outcome(0), outcome(1), refused]

    results = publish_concurrently(CoalescingPublisher(gated), gated, envelopes)

    assert results[refused.id] == set()
    assert results[envelopes[1].id] == {envelopes[1].id}


def test_a_failed_request_fails_every_caller_in_it_and_the_next_caller_tries_again():
    gated = GatedPublisher(fail=True)
    publisher = CoalescingPublisher(gated)
    envelopes = [outcome(n) for n in range(3)]

    results = publish_concurrently(publisher, gated, envelopes)

    assert all(isinstance(result, ConnectionError) for result in results.values())
    gated.fail = False
    retried = outcome(9)
    assert publisher.publish([retried]) == {retried.id}


def test_a_lone_caller_publishes_at_once():
    gated = GatedPublisher()
    gated.gate.set()
    envelope = outcome(1)

    assert CoalescingPublisher(gated).publish([envelope]) == {envelope.id}
    assert gated.requests == [[envelope.id]]


def test_many_callers_all_return_with_their_events_published():
    gated = GatedPublisher()
    gated.gate.set()
    publisher = CoalescingPublisher(gated)
    envelopes = [outcome(n) for n in range(20)]
    results: dict[str, set[str]] = {}
    threads = [
        threading.Thread(target=lambda e=e: results.__setitem__(e.id, publisher.publish([e]))) for e in envelopes
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert results == {envelope.id: {envelope.id} for envelope in envelopes}
    assert sorted(i for request in gated.requests for i in request) == sorted(e.id for e in envelopes)
