"""The `event-archiver` process on a moto server: every event exactly once, in order, across a restart."""

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import scan_archive
from taskoverflow_shared.sns_publisher import SnsPublisher
from tests.support.moto import wait_until
from tests.support.sqs import depth

# A stop lets the current long poll end before storing what is held: short polls, quick test.
SHORT_POLLS = {"EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS": "1"}


def test_every_published_event_is_archived_exactly_once_in_order_across_a_graceful_restart(
    topology_addresses, archiver_process, envelopes
):
    sqs, s3 = make_client("sqs"), make_client("s3")
    queue = topology_addresses.queues["event-archiver"]
    publisher = SnsPublisher(make_client("sns"), topology_addresses.topic_arn)
    script = [envelopes.todo_changed(n) if n % 3 else envelopes.calendar_requested(f"job-{n}") for n in range(1, 31)]

    def archive():
        return scan_archive(s3, topology_addresses.bucket_name, "event-archive/")

    # First run: a long flush interval, so at SIGTERM it holds the whole first half, unstored.
    first = archiver_process(
        {"EVENT_ARCHIVER_FLUSH_SECONDS": "10", "EVENT_ARCHIVER_FLUSH_EVENTS": "1000"} | SHORT_POLLS
    )
    publisher.publish(script[:15])
    wait_until(lambda: depth(sqs, queue.url) == (0, 15), timeout=10, message="the archiver to hold 15 messages")
    assert archive().events == []

    assert first.stop() == 0, first.output()
    assert [event.envelope.id for event in archive().events] == [e.id for e in script[:15]]
    assert depth(sqs, queue.url) == (0, 0)
    assert first.heartbeat.exists()

    # Second half published while no archiver runs; a new process catches up.
    publisher.publish(script[15:])
    second = archiver_process({"EVENT_ARCHIVER_FLUSH_SECONDS": "0.3"} | SHORT_POLLS)
    wait_until(lambda: len(archive().events) == 30, timeout=15, message="30 archived events")

    assert second.stop() == 0, second.output()
    scan = archive()
    assert [event.envelope.id for event in scan.events] == [e.id for e in script]
    assert [event.envelope for event in scan.events] == script
    assert scan.duplicates_skipped == 0
    arrivals = [event.arrived_at for event in scan.events]
    assert arrivals == sorted(arrivals)
    assert depth(sqs, queue.url) == (0, 0)
    # The first process stored what it held in one flush, on its way out.
    assert [line["messages"] for line in first.log_lines() if line["event"] == "archive_flushed"] == [15]
