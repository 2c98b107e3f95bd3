"""The live calendar feeds are rebuildable: wipe them, replay TodoChanged from the event archive to
the feed queue, and the same bytes come back (moto; the archiver and the feed consumer in process)."""

from __future__ import annotations

from event_archiver.bootstrap import bootstrap as bootstrap_archiver
from event_archiver.config import Settings as ArchiverSettings
from ical_worker.bootstrap import bootstrap_feed
from ical_worker.config import FeedSettings
from taskoverflow_operations.archive_query import Selection
from taskoverflow_operations.replay import QueueTarget, replay
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.topology import load_topology
from tests.support.moto import wait_until
from tests.support.sqs import depth

FEED_FAST = {"ICAL_FEED_WORKER_FLUSH_SECONDS": "0.2", "ICAL_FEED_WORKER_RECEIVE_WAIT_SECONDS": "0"}
ARCHIVER_FAST = {"EVENT_ARCHIVER_FLUSH_SECONDS": "0.2", "EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS": "0"}
OWNERS = ("alice", "bob", None)


def changes() -> list:
    """A few owners' todos created, edited, completed and deleted, versions in order per todo."""
    envelopes = []
    for number, owner in enumerate(OWNERS):
        for todo_id in range(number * 10 + 1, number * 10 + 6):
            for version, action in enumerate(("created", "updated", "updated", "deleted"), start=1):
                if action == "deleted" and todo_id % 2:
                    continue
                todo = {
                    "id": todo_id,
                    "title": f"todo {todo_id} v{version}",
                    "completed": version == 3 and todo_id % 3 == 0,
                    "deadline_at": f"2026-12-{todo_id % 28 + 1:02d}T09:00:00",
                    "created_at": "2026-12-01T00:00:00+00:00",
                    "updated_at": f"2026-12-01T00:0{version}:00+00:00",
                }
                data = TodoChanged(action=action, todo=todo, version=version, owner=owner)
                envelopes.append(
                    new_envelope(data, source="todo-api", correlation_id=f"c{todo_id}", subject=f"todos/{todo_id}")
                )
    return envelopes


def feed_objects(s3, bucket: str, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


def test_feeds_wiped_and_rebuilt_from_the_archive_are_byte_identical(topology_addresses):
    topology = load_topology()
    s3, sqs = make_client("s3"), make_client("sqs")
    feed_queue = topology_addresses.queues["ical-feed-worker"].url
    published = changes()
    SnsPublisher(make_client("sns"), topology_addresses.topic_arn, topology.message_type_attribute).publish(published)
    archiver = bootstrap_archiver(ArchiverSettings.from_environment(ARCHIVER_FAST))
    feed = bootstrap_feed(FeedSettings.from_environment(FEED_FAST))

    def drained(consumer, queue: str) -> bool:
        consumer.poll_once()
        return depth(sqs, queue) == (0, 0) and consumer.held == 0

    wait_until(lambda: drained(feed, feed_queue), timeout=20, message="the feeds written")
    wait_until(
        lambda: drained(archiver, topology_addresses.queues["event-archiver"].url), timeout=20, message="the archive"
    )
    before = feed_objects(s3, topology.bucket_name, topology.feed_prefix)
    assert len(before) == 2 * len(OWNERS)

    for key in before:
        s3.delete_object(Bucket=topology.bucket_name, Key=key)
    report = replay(
        s3,
        sqs,
        make_client("sns"),
        bucket=topology.bucket_name,
        archive_prefix=topology.event_archive_prefix,
        selection=Selection(),
        target=QueueTarget("ical-feed-worker", feed_queue, ("TodoChanged",), topology.message_type_attribute),
        progress=False,
    )
    assert report.sent == len(published)
    wait_until(lambda: drained(feed, feed_queue), timeout=20, message="the feeds rebuilt")

    assert feed_objects(s3, topology.bucket_name, topology.feed_prefix) == before
