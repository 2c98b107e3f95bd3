"""What keeping every event costs, and what the hour partitions buy a replay.

1. Archiving: the same backlog of TodoChanged messages is drained from the archiver's queue on a
   moto server by the event-archiver (the shared loop in batch mode: receive, hold, one PutObject
   per event hour, batch delete) and, as the reference, by the shared consumer loop with a handler
   that does nothing (receive, batch delete). The ratio is the price of storing the events.
2. Querying: an archive of 24 hours (one object per flush, several flushes an hour) is read
   through `read_archive` for one hour's window and, as the reference, whole.

Medians of ROUNDS rounds; everything, moto included, on this machine.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from bench.consumer_transport import drain_with_boto3
from event_archiver.bootstrap import bootstrap as archiver
from event_archiver.config import Settings
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.bootstrap_topology import bootstrap as bootstrap_topology
from taskoverflow_shared.event_archive import ArchiveEntry, archive_objects, read_archive
from taskoverflow_shared.events import TodoChanged, new_envelope
from taskoverflow_shared.logging_setup import configure_logging
from tests.support.moto import MotoServer

BACKLOG = 1000
ROUNDS = 3
HOURS = 24
FLUSHES_PER_HOUR = 6
EVENTS_PER_FLUSH = 50
START = datetime(2026, 11, 1, tzinfo=UTC)


def todo_changed(number: int, time: datetime):
    todo = {"id": number, "title": f"todo {number}", "completed": False, "created_at": "x", "updated_at": "x"}
    change = TodoChanged(action="created", todo=todo, version=1)
    envelope = new_envelope(change, source="bench", correlation_id="c", subject=f"todos/{number}")
    return envelope.model_copy(update={"time": time})


def fill(sqs, url: str, round_number: int) -> None:
    now = datetime.now(UTC)
    for start in range(0, BACKLOG, 10):
        entries = [
            {"Id": str(i), "MessageBody": todo_changed(round_number * BACKLOG + start + i, now).model_dump_json()}
            for i in range(10)
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def drain_with_archiver() -> float:
    consumer = archiver(
        Settings.from_environment(
            {"EVENT_ARCHIVER_FLUSH_EVENTS": str(BACKLOG), "EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS": "0"}
        )
    )
    stored = 0
    started = time.perf_counter()
    while stored < BACKLOG:
        stored += consumer.poll_once().handled
        if consumer.held and stored + consumer.held == BACKLOG:
            stored += consumer.handle_held().handled  # the last, partial batch: do not wait for its age
    return time.perf_counter() - started


def fill_archive(s3, bucket: str, prefix: str) -> None:
    number = 0
    for hour in range(HOURS):
        for flush in range(FLUSHES_PER_HOUR):
            entries = []
            for _ in range(EVENTS_PER_FLUSH):
                moment = START + timedelta(hours=hour, minutes=flush * 10, seconds=number % 600)
                entries.append(ArchiveEntry.from_envelope_json(todo_changed(number, moment).model_dump_json(), moment))
                number += 1
            for stored in archive_objects(entries, prefix):
                s3.put_object(Bucket=bucket, Key=stored.key, Body=stored.body)


def timed_read(s3, bucket: str, prefix: str, **window) -> tuple[float, int]:
    started = time.perf_counter()
    events = read_archive(s3, bucket, prefix, **window)
    return time.perf_counter() - started, len(events)


def main() -> None:
    configure_logging("bench", "WARNING")
    server = MotoServer().start()
    os.environ.update(
        AWS_ENDPOINT_URL=server.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
    )
    os.environ.pop("TASKOVERFLOW_DELIVERY", None)
    try:
        addresses = bootstrap_topology()
        queue = addresses.queues["event-archiver"]
        sqs, s3 = make_client("sqs"), make_client("s3")
        archive_times, loop_times = [], []
        for round_number in range(ROUNDS):
            fill(sqs, queue.url, 2 * round_number)
            archive_times.append(drain_with_archiver())
            fill(sqs, queue.url, 2 * round_number + 1)
            loop_times.append(drain_with_boto3(sqs, queue.url, queue.dlq_url, BACKLOG))

        prefix = "bench-archive/"
        fill_archive(s3, addresses.bucket_name, prefix)
        one_hour = {"since": START + timedelta(hours=12), "until": START + timedelta(hours=13)}
        hour_reads = [timed_read(s3, addresses.bucket_name, prefix, **one_hour) for _ in range(ROUNDS)]
        full_reads = [timed_read(s3, addresses.bucket_name, prefix) for _ in range(ROUNDS)]
    finally:
        server.stop()

    archive_rate = BACKLOG / statistics.median(archive_times)
    loop_rate = BACKLOG / statistics.median(loop_times)
    print(f"== event archive: drain {BACKLOG} messages, median of {ROUNDS} rounds")
    print(f"consumer loop, no-op handler (reference): {loop_rate:8.1f} msg/s")
    print(f"event-archiver (S3 puts per flush)      : {archive_rate:8.1f} msg/s")
    print(f"archiver / consumer loop: x{archive_rate / loop_rate:.2f}")
    hour_seconds, hour_events = statistics.median(t for t, _ in hour_reads), hour_reads[0][1]
    full_seconds, full_events = statistics.median(t for t, _ in full_reads), full_reads[0][1]
    objects = HOURS * FLUSHES_PER_HOUR
    print(f"== archive query: {full_events} events in {objects} objects over {HOURS} hours, median of {ROUNDS}")
    print(f"whole archive (reference): {full_seconds * 1000:8.1f} ms for {full_events} events")
    print(f"one hour's window        : {hour_seconds * 1000:8.1f} ms for {hour_events} events")
    print(f"one hour / whole: x{hour_seconds / full_seconds:.3f} of the time")


if __name__ == "__main__":
    main()
