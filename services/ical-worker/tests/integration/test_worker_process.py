"""The `ical-worker` console script as a real process against moto: topic in, S3 object and event out."""

from __future__ import annotations

import hashlib
import time
import uuid

from taskoverflow_shared.bootstrap_topology import bootstrap
from taskoverflow_shared.events import CalendarReady, CalendarRequested, parse_data

# Work and startup calls are counted apart: only the first set may grow with the number of jobs.
STARTUP_CALLS = {"sqs.GetQueueUrl": 2, "sts.GetCallerIdentity": 1}


def job_calls(calls: dict[str, int]) -> dict[str, int]:
    """The calls a worker made for its jobs, leaving out startup and the (idle-dependent) receives."""
    for name, count in STARTUP_CALLS.items():
        assert calls.pop(name) == count, f"{name} at startup"
    assert calls.pop("sqs.ReceiveMessage") >= 1
    return calls


def test_a_calendar_request_on_the_topic_becomes_a_calendar_with_one_put_and_one_publish(
    topology_addresses, workers, kit, io, tmp_path
) -> None:
    heartbeat = tmp_path / "heartbeat"
    worker = workers.start(HEARTBEAT_FILE=str(heartbeat), ICAL_WORKER_RECEIVE_WAIT_SECONDS="1")
    job_id = str(uuid.uuid4())
    todos = [kit.make_todo(1, title="Ship it, finally; really"), kit.make_todo(2, deadline_at=None)]

    io.publish_request(
        topology_addresses,
        CalendarRequested(job_id=job_id, todo_count=2, todos=todos, notify_email="ada@example.com"),
        correlation_id="corr-inline",
    )

    (envelope,) = io.receive_events(topology_addresses.queues["todo-api"].url, count=1, timeout=20)
    ready = parse_data(envelope)
    stored = io.aws("s3").get_object(Bucket=topology_addresses.bucket_name, Key=f"calendars/{job_id}.ics")
    body = stored["Body"].read()
    assert ready == CalendarReady(
        job_id=job_id,
        bucket=topology_addresses.bucket_name,
        key=f"calendars/{job_id}.ics",
        size_bytes=len(body),
        event_count=1,
        sha256=hashlib.sha256(body).hexdigest(),
        notify_email="ada@example.com",
    )
    assert (envelope.source, envelope.correlation_id) == ("ical-worker", "corr-inline")
    assert stored["ContentType"] == "text/calendar; charset=utf-8"
    assert kit.read_ics(body).event("todo-1@taskoverflow")["SUMMARY"] == "Ship it, finally; really"
    assert heartbeat.exists()

    assert worker.stop() == 0
    assert job_calls(worker.aws_calls()) == {
        "s3.PutObject": 1,
        "sns.PublishBatch": 1,
        "sqs.DeleteMessageBatch": 1,
    }


def test_a_20k_todo_snapshot_is_read_once_and_rendered(topology_addresses, workers, kit, io) -> None:
    worker = workers.start()
    job_id = str(uuid.uuid4())
    todos = kit.many_todos(20_000)
    ref = io.put_snapshot(topology_addresses, job_id, kit.ndjson(todos), kit)

    io.publish_request(
        topology_addresses,
        CalendarRequested(job_id=job_id, todo_count=len(todos), snapshot=ref),
        correlation_id="corr-snapshot",
    )

    (envelope,) = io.receive_events(topology_addresses.queues["todo-api"].url, count=1, timeout=60)
    ready = parse_data(envelope)
    assert isinstance(ready, CalendarReady)
    body = io.aws("s3").get_object(Bucket=ready.bucket, Key=ready.key)["Body"].read()
    assert ready.key == f"calendars/{job_id}.ics"
    assert ready.event_count == 18_000 == len(kit.read_ics(body).events)
    assert ready.sha256 == hashlib.sha256(body).hexdigest()

    assert worker.stop() == 0
    assert job_calls(worker.aws_calls()) == {
        "s3.GetObject": 1,
        "s3.PutObject": 1,
        "sns.PublishBatch": 1,
        "sqs.DeleteMessageBatch": 1,
    }


def test_sigterm_while_idle_exits_within_seconds_with_code_0(workers, tmp_path) -> None:
    # The default 20 s long poll: leaving promptly proves the worker does not wait for it to end.
    heartbeat = tmp_path / "heartbeat"
    worker = workers.start(HEARTBEAT_FILE=str(heartbeat))
    worker.wait_for_log("consumer_started", timeout=15)
    assert heartbeat.exists()  # at once, not only after the first long poll

    started = time.monotonic()
    code = worker.stop(timeout=10)

    assert code == 0
    assert time.monotonic() - started < 5  # far less than the 20 s poll it was in
    # The log says why it stopped.
    assert [line["event"] for line in worker.log_events()][-2:] == ["shutdown_requested", "consumer_stopped"]


def test_a_worker_started_before_the_topology_waits_for_its_queue(moto_server, bare_workers) -> None:
    # `make run` starts every process at once; the bootstrap may create the queues after us.
    moto_server.reset()
    worker = bare_workers.start()
    worker.wait_for_log("worker_starting", timeout=15)

    bootstrap()

    # The worker announced itself before the queues existed, and still ends up consuming.
    worker.wait_for_log("consumer_started", timeout=15)
    assert worker.stop() == 0


def test_sigterm_while_waiting_for_the_topology_exits_with_code_0(moto_server, bare_workers) -> None:
    moto_server.reset()
    worker = bare_workers.start()
    worker.wait_for_log("worker_starting", timeout=15)

    assert worker.stop() == 0
    assert "consumer_started" not in [line["event"] for line in worker.log_events()]


def test_a_worker_whose_queue_never_appears_gives_up_with_an_error(moto_server, bare_workers) -> None:
    moto_server.reset()
    worker = bare_workers.start(ICAL_WORKER_STARTUP_WAIT_SECONDS="1")

    assert worker.process.wait(15) == 1
    (failure,) = [line for line in worker.log_events() if line["event"] == "start_failed"]
    assert failure["queue"] == "taskoverflow-ical-worker" and "does not exist" in failure["error"]
