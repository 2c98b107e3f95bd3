"""The relay: calendar requests never queue behind bulk TodoChanged rows, and each todo's
versions still leave in order when a batch is published over concurrent streams."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from taskoverflow_shared.events import Envelope, TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from tests.support.moto import wait_until
from todo_api.adapters import outbox
from todo_api.adapters.orm import OutboxRow
from todo_api.adapters.outbox import Lane, PublishIncomplete
from todo_api.bootstrap import build_relay
from todo_api.domain.commands import CalendarRequest, RequestCalendar
from todo_api.entrypoints.outbox_relay import run_relay

FIFO_TOPIC = "arn:aws:sns:us-east-1:123456789012:taskoverflow-events.fifo"


class RecordingPublisher:
    """Accepts everything and records, per publish call, what it was given (thread-safe)."""

    def __init__(self, rendezvous: int = 1) -> None:
        self.lock = threading.Lock()
        self.calls: list[list[Envelope]] = []
        # The first `rendezvous` calls wait for one another: only concurrent calls get past.
        self.barrier = threading.Barrier(rendezvous, timeout=10) if rendezvous > 1 else None

    def publish(self, envelopes):
        with self.lock:
            self.calls.append(list(envelopes))
            meets = self.barrier is not None and len(self.calls) <= self.barrier.parties
        if meets:
            self.barrier.wait()
        return {envelope.id for envelope in envelopes}

    @property
    def published(self) -> list[Envelope]:
        with self.lock:
            return [envelope for call in self.calls for envelope in call]


def record_todo_changes(todo_api, todos: int, versions: int = 1) -> None:
    """Pending TodoChanged rows in outbox order v1 of every todo, then v2 of every todo, ..."""
    now = datetime.now(UTC).isoformat()
    with todo_api.session_factory() as session, session.begin():
        for version in range(1, versions + 1):
            for todo in range(1, todos + 1):
                state = {"id": todo, "title": f"t{todo}", "completed": False, "created_at": now, "updated_at": now}
                change = TodoChanged(action="created" if version == 1 else "updated", todo=state, version=version)
                outbox.record(session, new_envelope(change, source="test", correlation_id="c", subject=f"todos/{todo}"))


def versions_by_todo(envelopes: list[Envelope]) -> dict[str, list[int]]:
    versions = defaultdict(list)
    for envelope in envelopes:
        if envelope.type == "TodoChanged":
            versions[envelope.subject].append(envelope.data["version"])
    return versions


def test_a_calendar_request_recorded_after_3000_todo_changes_goes_out_in_the_first_cycle(todo_api):
    record_todo_changes(todo_api, 3000)
    job_id = todo_api.bus.handle(RequestCalendar(CalendarRequest(), "req-1"))
    publisher = RecordingPublisher()
    relay = build_relay(todo_api, publisher)
    assert relay.has_pending([Lane.INTERACTIVE])

    relay.relay_once()

    assert (relay.has_pending([Lane.INTERACTIVE]), relay.has_pending([Lane.BULK])) == (False, True)
    first_cycle = publisher.published
    assert len(first_cycle) == todo_api.settings.relay_batch_size
    (request,) = [e for e in first_cycle if e.type == "CalendarRequested"]
    assert request.data["job_id"] == job_id
    assert "todo_count" in request.data  # completed by the relay on its way out
    assert sorted(e.data["todo"]["id"] for e in first_cycle if e.type == "TodoChanged") == list(range(1, 100))


def test_the_interactive_lane_publishes_while_the_bulk_lane_is_stuck_in_a_publish(todo_api):
    record_todo_changes(todo_api, 300)
    bulk_publishing, bulk_may_finish = threading.Event(), threading.Event()
    published_types: list[str] = []

    class SlowBulkPublisher:
        def publish(self, envelopes):
            if any(e.type == "TodoChanged" for e in envelopes):
                bulk_publishing.set()
                assert bulk_may_finish.wait(30), "the test never released the bulk lane"
            published_types.extend(e.type for e in envelopes)
            return {e.id for e in envelopes}

    relay = build_relay(todo_api, SlowBulkPublisher())
    stop = threading.Event()
    relay_thread = threading.Thread(target=run_relay, args=(relay, stop, 0.02))
    relay_thread.start()
    try:
        wait_until(bulk_publishing.is_set, timeout=10, message="the bulk lane to publish")
        todo_api.bus.handle(RequestCalendar(CalendarRequest(), "req-1"))
        wait_until(lambda: "CalendarRequested" in published_types, timeout=10, message="the calendar request")
        assert "TodoChanged" not in published_types  # the bulk lane is still in its first publish
        bulk_may_finish.set()
        wait_until(lambda: published_types.count("TodoChanged") == 300, timeout=30, message="the bulk lane")
    finally:
        bulk_may_finish.set()
        stop.set()
        relay_thread.join(30)
        relay.close()


def test_each_todo_s_versions_leave_in_order_when_streams_publish_concurrently(todo_api):
    record_todo_changes(todo_api, todos=40, versions=5)  # 200 rows, each todo's versions 40 apart
    publisher = RecordingPublisher(rendezvous=2)  # fails unless two streams publish at once
    relay = build_relay(todo_api, publisher)

    while relay.relay_once():
        pass
    relay.close()

    assert len(publisher.calls) > 2
    for call in publisher.calls:  # within each stream, each todo's versions go up
        for versions in versions_by_todo(call).values():
            assert versions == sorted(versions)
    for versions in versions_by_todo(publisher.published).values():  # and across cycles
        assert versions == [1, 2, 3, 4, 5]


def test_when_one_stream_fails_what_the_others_published_is_marked_and_the_error_propagates(todo_api):
    record_todo_changes(todo_api, todos=100)  # four streams: todos 1-30, 31-60, 61-90, 91-100
    broker_down_for_todo_1 = True

    class PartlyDownPublisher(RecordingPublisher):
        def publish(self, envelopes):
            if broker_down_for_todo_1 and any(e.subject == "todos/1" for e in envelopes):
                raise ConnectionError("broker unreachable")
            return super().publish(envelopes)

    publisher = PartlyDownPublisher()
    relay = build_relay(todo_api, publisher)
    with pytest.raises(ConnectionError):
        relay.relay_once()
    assert len(publisher.published) == 70

    broker_down_for_todo_1 = False
    assert relay.relay_once() == 30
    relay.close()
    assert sorted(e.data["todo"]["id"] for e in publisher.published) == list(range(1, 101))


class FifoSnsRefusingOnce:
    """A FIFO topic's PublishBatch that refuses `refused` the first time it sees it."""

    def __init__(self, refused: tuple[str, int]) -> None:
        self.lock = threading.Lock()
        self.refused = refused
        self.sent: list[tuple[str, int]] = []

    def publish_batch(self, TopicArn, PublishBatchRequestEntries):
        successful, failed = [], []
        with self.lock:
            for entry in PublishBatchRequestEntries:
                envelope = Envelope.model_validate_json(entry["Message"])
                key = (entry["MessageGroupId"], envelope.data["version"])
                if key == self.refused:
                    self.refused = ("", 0)
                    failed.append({"Id": entry["Id"], "Code": "InternalError", "SenderFault": False})
                else:
                    self.sent.append(key)
                    successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}


def test_on_a_fifo_topic_a_refused_version_holds_back_its_todo_s_later_versions(todo_api):
    record_todo_changes(todo_api, todos=40, versions=3)
    sns = FifoSnsRefusingOnce(refused=("todos/7", 1))
    relay = build_relay(todo_api, SnsPublisher(sns, FIFO_TOPIC))

    with pytest.raises(PublishIncomplete):  # the refused row is kept for a retry after a back-off
        relay.relay_once()  # the first 100 rows: v1 and v2 of every todo, v3 of the first 20

    assert [version for group, version in sns.sent if group == "todos/7"] == []
    while relay.has_pending():
        relay.relay_once()
    relay.close()
    sent_versions = defaultdict(list)
    for group, version in sns.sent:
        sent_versions[group].append(version)
    assert all(versions == [1, 2, 3] for versions in sent_versions.values())
    assert len(sent_versions) == 40


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_calendar_request_is_interactive_and_every_todo_change_is_bulk(client, todo_api):
    client.post("/api/v1/todos", json={"title": "a"})
    client.post("/api/v1/todos/ical")
    with todo_api.session_factory() as session:
        lanes = dict(session.execute(select(OutboxRow.event_type, OutboxRow.lane)).all())
    assert lanes == {"TodoChanged": Lane.BULK, "CalendarRequested": Lane.INTERACTIVE}
