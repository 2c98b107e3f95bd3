"""The S3 and SNS adapters, and the real wiring, against a real moto server (in this process)."""

from __future__ import annotations

import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from ical_worker.adapters.s3_calendars import S3CalendarStore
from ical_worker.adapters.s3_snapshots import S3SnapshotReader
from ical_worker.adapters.sns_events import SnsEventPublisher
from ical_worker.bootstrap import bootstrap
from ical_worker.config import Settings
from ical_worker.domain import InvalidSnapshot
from taskoverflow_shared.events import CalendarFailed, CalendarReady, CalendarRequested, new_envelope, parse_data
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.sqs_consumer import SqsConsumer
from tests.support.moto import free_port


def test_the_calendar_store_writes_the_bytes_as_text_calendar(topology_addresses, io) -> None:
    s3 = io.aws("s3")

    S3CalendarStore(s3).put(topology_addresses.bucket_name, "calendars/job-1.ics", b"BEGIN:VCALENDAR\r\n")

    stored = s3.get_object(Bucket=topology_addresses.bucket_name, Key="calendars/job-1.ics")
    assert stored["Body"].read() == b"BEGIN:VCALENDAR\r\n"
    assert stored["ContentType"] == "text/calendar; charset=utf-8"


def test_the_snapshot_reader_returns_the_stored_bytes(topology_addresses, kit, io) -> None:
    body = kit.ndjson(kit.many_todos(10))
    ref = io.put_snapshot(topology_addresses, "job-2", body, kit)

    assert S3SnapshotReader(io.aws("s3")).read(ref) == body


def test_a_missing_snapshot_is_bad_data_not_a_transient_error(topology_addresses, kit, io) -> None:
    ref = kit.snapshot_ref(b"", bucket=topology_addresses.bucket_name, key="snapshots/never-written.ndjson")

    with pytest.raises(InvalidSnapshot, match="does not exist"):
        S3SnapshotReader(io.aws("s3")).read(ref)


def test_an_unreachable_s3_is_a_transient_error_that_propagates(kit) -> None:
    nowhere = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )

    with pytest.raises(EndpointConnectionError):
        S3SnapshotReader(nowhere).read(kit.snapshot_ref(b"", key="snapshots/x.ndjson"))


def test_the_event_publisher_puts_the_event_on_the_topic_for_the_todo_api(topology_addresses, io) -> None:
    ready = CalendarReady(
        job_id="job-3", bucket="b", key="calendars/job-3.ics", size_bytes=1, event_count=0, sha256="0" * 64
    )
    envelope = new_envelope(ready, source="ical-worker", correlation_id="corr-3", subject="calendars/job-3")

    SnsEventPublisher(SnsPublisher(io.aws("sns"), topology_addresses.topic_arn))(envelope)

    (received,) = io.receive_events(topology_addresses.queues["todo-api"].url, count=1, timeout=10)
    # The publish stamps the trace context when a tracer provider is installed (another test
    # module of the session may have installed one); the event is otherwise the one sent.
    assert received.model_copy(update={"traceparent": None, "tracestate": None}) == envelope


def test_bad_data_through_the_real_wiring_ends_in_calendar_failed_and_the_request_is_acknowledged(
    topology_addresses, kit, io
) -> None:
    queue = topology_addresses.queues["ical-worker"]
    job_id = str(uuid.uuid4())
    body = kit.ndjson(kit.many_todos(5))
    ref = io.put_snapshot(topology_addresses, job_id, body + b"{}\n", kit).model_copy(
        update={"sha256": kit.snapshot_ref(body).sha256, "size_bytes": len(body) + 3}
    )
    io.publish_request(
        topology_addresses, CalendarRequested(job_id=job_id, todo_count=5, snapshot=ref), correlation_id="corr-bad"
    )
    settings = Settings.from_environment(environ={})
    sqs = io.aws("sqs")
    consumer = SqsConsumer(
        sqs, queue.url, queue.dlq_url, bootstrap(settings), visibility_timeout_seconds=30, wait_time_seconds=5
    )

    assert consumer.poll_once().handled == 1

    (envelope,) = io.receive_events(topology_addresses.queues["todo-api"].url, count=1, timeout=10)
    failed = parse_data(envelope)
    assert isinstance(failed, CalendarFailed) and "sha256" in failed.reason
    assert envelope.correlation_id == "corr-bad"
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
