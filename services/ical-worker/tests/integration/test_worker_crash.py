"""A worker killed mid-job loses nothing: SQS hands the message to the next worker after the timeout."""

from __future__ import annotations

import hashlib
import signal
import uuid
from typing import Any

import pytest

from taskoverflow_shared.events import CalendarReady, CalendarRequested, parse_data

VISIBILITY_TIMEOUT_SECONDS = 3
# Big enough that reading, checking and rendering the snapshot takes well over a second, so the
# kill lands mid-job (the test checks that it did); no sleeps are involved.
TODO_COUNT = 100_000


def calendar_keys(s3: Any, bucket: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="calendars/")
    return [item["Key"] for item in listing.get("Contents", [])]


@pytest.mark.slow
def test_a_worker_killed_mid_render_is_replaced_and_the_job_completes_once(
    topology_addresses, workers, kit, io
) -> None:
    queue = topology_addresses.queues["ical-worker"]
    s3 = io.aws("s3")
    io.aws("sqs").set_queue_attributes(
        QueueUrl=queue.url, Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS)}
    )
    job_id = str(uuid.uuid4())
    key = f"calendars/{job_id}.ics"
    ref = io.put_snapshot(topology_addresses, job_id, kit.ndjson(kit.many_todos(TODO_COUNT)), kit)
    doomed = workers.start()
    doomed.wait_for_log("consumer_started", timeout=15)

    io.publish_request(
        topology_addresses,
        CalendarRequested(job_id=job_id, todo_count=TODO_COUNT, snapshot=ref),
        correlation_id="corr-crash",
    )
    doomed.wait_for_log("calendar_job_started", timeout=20, job_id=job_id)
    doomed.process.send_signal(signal.SIGKILL)
    assert doomed.process.wait(5) == -signal.SIGKILL

    assert calendar_keys(s3, topology_addresses.bucket_name) == []  # it really died mid-job
    successor = workers.start()
    (envelope,) = io.receive_events(topology_addresses.queues["todo-api"].url, count=1, timeout=60)

    ready = parse_data(envelope)
    assert isinstance(ready, CalendarReady) and ready.job_id == job_id
    assert successor.wait_for_log("calendar_ready", timeout=5, job_id=job_id)
    assert calendar_keys(s3, topology_addresses.bucket_name) == [key]
    body = s3.get_object(Bucket=topology_addresses.bucket_name, Key=key)["Body"].read()
    assert ready.sha256 == hashlib.sha256(body).hexdigest()
    assert ready.event_count == TODO_COUNT * 9 // 10
    # A graceful stop finishes what is in hand: a redelivered copy of the 100k-todo job may be.
    assert successor.stop(timeout=60) == 0
