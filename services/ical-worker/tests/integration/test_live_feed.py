"""The live-feed consumer against real emulators: S3's conditional writes, and the loop on moto end to end."""

from __future__ import annotations

import pytest

from ical_worker.adapters.s3_feeds import S3FeedStore
from ical_worker.bootstrap import bootstrap_feed
from ical_worker.config import FeedSettings
from ical_worker.domain import FeedConflict, FeedState
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.topology import load_topology
from tests.support.moto import wait_until
from tests.support.sqs import depth

FAST = {"ICAL_FEED_WORKER_FLUSH_SECONDS": "0.2", "ICAL_FEED_WORKER_RECEIVE_WAIT_SECONDS": "0"}


def todo_changed(todo_id: int, version: int, owner: str, title: str, action: str = "updated"):
    todo = {
        "id": todo_id,
        "title": title,
        "completed": False,
        "deadline_at": "2026-12-24T18:00:00",
        "created_at": "2026-12-01T00:00:00+00:00",
        "updated_at": f"2026-12-01T00:00:{version:02d}+00:00",
    }
    data = TodoChanged(action=action, todo=todo, version=version, owner=owner)
    return new_envelope(data, source="todo-api", correlation_id=f"c{todo_id}-{version}", subject=f"todos/{todo_id}")


def test_a_state_write_naming_a_stale_etag_conflicts_on_each_emulator(topology_on_each_emulator):
    store = S3FeedStore(make_client("s3"), topology_on_each_emulator.bucket_name)
    key = load_topology().feed_keys("someone").state

    store.put_state(key, b"first", None)
    with pytest.raises(FeedConflict):
        store.put_state(key, b"created twice", None)
    first = store.read_state(key)
    assert first is not None and first.body == b"first"
    store.put_state(key, b"second", first.tag)
    with pytest.raises(FeedConflict):
        store.put_state(key, b"lost update", first.tag)
    second = store.read_state(key)
    assert second is not None and second.body == b"second"


def test_changes_published_on_the_topic_reach_each_owners_feed_newest_version_first(topology_addresses):
    s3, sqs = make_client("s3"), make_client("sqs")
    topology = load_topology()
    publisher = SnsPublisher(make_client("sns"), topology_addresses.topic_arn, topology.message_type_attribute)
    publisher.publish(
        [
            todo_changed(1, 1, "alice", "first draft", "created"),
            todo_changed(1, 3, "alice", "final"),
            todo_changed(1, 2, "alice", "overtaken"),
            todo_changed(1, 3, "alice", "final"),
            todo_changed(2, 1, "bob", "bob's", "created"),
            new_envelope(CalendarRequested(job_id="j", todo_count=0, todos=[]), source="todo-api", correlation_id="j"),
        ]
    )
    consumer = bootstrap_feed(FeedSettings.from_environment(FAST))
    queue = topology_addresses.queues["ical-feed-worker"].url

    def feeds_written() -> bool:
        consumer.poll_once()
        return depth(sqs, queue) == (0, 0) and consumer.held == 0

    wait_until(feeds_written, timeout=15, message="an empty feed queue")

    alice = s3.get_object(Bucket=topology.bucket_name, Key=topology.feed_keys("alice").calendar)
    assert alice["ContentType"] == "text/calendar; charset=utf-8"
    body = alice["Body"].read()
    assert b"SUMMARY:final\r\n" in body and b"SEQUENCE:3\r\n" in body and b"overtaken" not in body
    state = FeedState.from_bytes(
        s3.get_object(Bucket=topology.bucket_name, Key=topology.feed_keys("alice").state)["Body"].read()
    )
    assert state.entries[1].version == 3
    bob = s3.get_object(Bucket=topology.bucket_name, Key=topology.feed_keys("bob").calendar)["Body"].read()
    assert b"SUMMARY:bob's\r\n" in bob and b"final" not in bob
