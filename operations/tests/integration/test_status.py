"""`taskoverflow status` against real emulators and real databases: the numbers `--json` reports
and the screen it draws."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert

from taskoverflow_operations.status.event_rates import read_event_rates
from taskoverflow_operations.status.screen import duration
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import ArchiveEntry, archive_objects
from taskoverflow_shared.events import CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.topology import load_topology

BIN = Path(sys.executable).parent
TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


def taskoverflow_status(*args: str, database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real command, as an operator runs it."""
    return subprocess.run(
        [str(BIN / "taskoverflow"), "status", *args],
        env={**os.environ, "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def status_json(database_url: str, **env: str) -> dict:
    finished = taskoverflow_status("--json", database_url=database_url, **env)
    assert "Traceback" not in finished.stderr, finished.stderr
    return json.loads(finished.stdout)


def write_rows(database_url: str, table_name: str, rows: list[dict]) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        table = Table(table_name, MetaData(), autoload_with=connection)
        connection.execute(insert(table), rows)
    engine.dispose()


def outbox_row(event_type: str, lane: int, age: timedelta, published: bool = False) -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "lane": lane,
        "envelope": "{}",
        "created_at": datetime.now(UTC) - age,
        "published_at": datetime.now(UTC) if published else None,
    }


def job_row(status: str, age: timedelta, error: str | None = None) -> dict:
    return {"id": str(uuid.uuid4()), "status": status, "requested_at": datetime.now(UTC) - age, "error": error}


def event(data, at: datetime):
    return new_envelope(data, source="test", correlation_id="c").model_copy(update={"time": at})


def send(sqs, url: str, count: int, **extra) -> None:
    for number in range(count):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": number}), **extra)


def test_json_reports_every_queue_and_dlq_and_peeks_only_at_the_dlqs(topology_on_each_emulator, emulator, tmp_path):
    sqs = make_client("sqs")
    notifier, worker = topology_on_each_emulator.queues["notifier"], topology_on_each_emulator.queues["ical-worker"]
    send(sqs, notifier.url, 3)
    send(sqs, notifier.url, 1, DelaySeconds=600)
    send(sqs, notifier.dlq_url, 2)
    send(sqs, worker.url, 2)
    held = sqs.receive_message(QueueUrl=worker.url, MaxNumberOfMessages=1, VisibilityTimeout=600)["Messages"]
    assert len(held) == 1

    reading = status_json(f"sqlite:///{tmp_path / 'absent.sqlite3'}")

    names = load_topology().queues
    queues = {entry["service"]: entry for entry in reading["queues"]["services"]}
    assert set(queues) == set(load_topology().queues)
    counts = {
        name: (queue["visible"], queue["in_flight"], queue["delayed"])
        for entry in queues.values()
        for name, queue in ((entry["queue_name"], entry["queue"]), (entry["dlq_name"], entry["dlq"]))
    }
    assert counts[names["notifier"].name] == (3, 0, 1)
    assert counts[names["notifier"].dlq_name] == (2, 0, 0)
    assert counts[names["ical-worker"].name] == (1, 1, 0)
    assert sum(sum(numbers) for numbers in counts.values()) == 4 + 2 + 2
    dlq = queues["notifier"]["dlq"]
    assert dlq["oldest_age_source"] == "peek" and dlq["oldest_age_seconds"] >= 0
    # The emulators publish no SQS metrics, and a service queue is not received from by default.
    assert queues["notifier"]["queue"] == {**queues["notifier"]["queue"], "oldest_age_seconds": None}
    assert queues["notifier"]["queue"]["oldest_age_source"] == "not measured"
    assert queues["todo-api"]["queue"]["oldest_age_source"] == "empty"
    # The peek left the dead letters where they were, visible.
    assert (
        sqs.get_queue_attributes(QueueUrl=notifier.dlq_url, AttributeNames=["ApproximateNumberOfMessages"])[
            "Attributes"
        ]["ApproximateNumberOfMessages"]
        == "2"
    )
    untouched = sqs.receive_message(
        QueueUrl=notifier.url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert {message["Attributes"]["ApproximateReceiveCount"] for message in untouched} == {"1"}


def test_peek_age_measures_the_service_queues_once_and_is_refused_with_watch(topology_addresses, tmp_path):
    sqs = make_client("sqs")
    send(sqs, topology_addresses.queues["notifier"].url, 2)
    database_url = f"sqlite:///{tmp_path / 'absent.sqlite3'}"

    finished = taskoverflow_status("--json", "--peek-age", database_url=database_url)
    refused = taskoverflow_status("--watch", "--peek-age", database_url=database_url)

    notifier = next(
        entry for entry in json.loads(finished.stdout)["queues"]["services"] if entry["service"] == "notifier"
    )
    assert notifier["queue"]["oldest_age_source"] == "peek"
    assert notifier["queue"]["oldest_age_seconds"] >= 0
    assert refused.returncode == 2 and "refused" in refused.stderr


def test_json_reports_the_outbox_and_the_last_hour_of_calendar_jobs(topology_addresses, todo_database):
    write_rows(
        todo_database,
        "outbox",
        [
            outbox_row("TodoChanged", 1, timedelta(seconds=90)),
            outbox_row("TodoChanged", 1, timedelta(seconds=5)),
            outbox_row("CalendarRequested", 0, timedelta(seconds=30)),
            outbox_row("TodoChanged", 1, timedelta(hours=2), published=True),
        ],
    )
    write_rows(
        todo_database,
        "calendar_jobs",
        [
            *(job_row("SUCCESS", timedelta(minutes=minutes)) for minutes in (1, 2, 3)),
            job_row("FAILURE", timedelta(minutes=4), "S3 refused the put"),
            job_row("FAILURE", timedelta(minutes=5), "S3 refused the put"),
            job_row("FAILURE", timedelta(minutes=6), "snapshot checksum mismatch"),
            job_row("PENDING", timedelta(seconds=10)),
            job_row("PENDING", timedelta(minutes=10)),  # past the 300 s deadline
            job_row("FAILURE", timedelta(hours=2), "too old to count"),
        ],
    )

    reading = status_json(todo_database)

    outbox = reading["outbox"]
    assert (outbox["pending"], outbox["pending_by_lane"], outbox["parked"]) == (
        3,
        {"interactive": 1, "bulk": 2},
        0,
    )
    assert 90 <= outbox["lag_seconds"] < 3600
    jobs = reading["calendar_jobs"]
    assert jobs["by_state"] == {"PENDING": 1, "STARTED": 0, "SUCCESS": 3, "FAILURE": 3, "OVERDUE": 1}
    assert jobs["total"] == 8
    assert jobs["top_failure_reasons"] == [
        {"reason": "S3 refused the put", "count": 2},
        {"reason": "snapshot checksum mismatch", "count": 1},
    ]
    assert reading["unavailable_parts"] == []


def test_parked_rows_are_counted_apart_from_pending_ones(topology_addresses, todo_database):
    parked = outbox_row("TodoChanged", 1, timedelta(minutes=30)) | {
        "parked_at": datetime.now(UTC),
        "parked_reason": "MessageTooLarge: TodoChanged x is 300000 bytes",
    }
    waiting = outbox_row("TodoChanged", 1, timedelta(seconds=20)) | {"parked_at": None, "parked_reason": None}
    write_rows(todo_database, "outbox", [parked, waiting])

    outbox = status_json(todo_database)["outbox"]

    assert (outbox["pending"], outbox["parked"]) == (1, 1)
    assert 20 <= outbox["lag_seconds"] < 30 * 60  # the parked row holds nothing back


def test_event_rates_count_each_archived_event_once_by_type_within_the_window(topology_addresses):
    s3 = make_client("s3")
    topology = load_topology()
    recent = [
        event(TodoChanged(action="created", todo=TODO, version=1), datetime.now(UTC) - timedelta(seconds=40)),
        event(TodoChanged(action="updated", todo=TODO, version=2), datetime.now(UTC) - timedelta(seconds=35)),
        event(CalendarRequested(job_id="j", todo_count=0, todos=[]), datetime.now(UTC) - timedelta(seconds=35)),
    ]
    old = event(TodoChanged(action="deleted", todo=TODO, version=3), datetime.now(UTC) - timedelta(minutes=20))
    entries = [
        ArchiveEntry.from_envelope_json(e.model_dump_json(), datetime.now(UTC) - timedelta(seconds=30)) for e in recent
    ]
    # A redelivered copy of the first event, stored again by a later flush.
    later = [ArchiveEntry.from_envelope_json(recent[0].model_dump_json(), datetime.now(UTC) - timedelta(seconds=10))]
    stale = [ArchiveEntry.from_envelope_json(old.model_dump_json(), datetime.now(UTC) - timedelta(minutes=20))]
    for batch in (entries, later, stale):
        for archive_object in archive_objects(batch, topology.event_archive_prefix):
            s3.put_object(Bucket=topology.bucket_name, Key=archive_object.key, Body=archive_object.body)

    rates = read_event_rates(s3, topology, datetime.now(UTC) + timedelta(seconds=1), timedelta(minutes=5))

    assert {name: rate.events for name, rate in rates.per_type.items()} == {
        "CalendarFailed": 0,
        "CalendarReady": 0,
        "CalendarRequested": 1,
        "TodoChanged": 2,
    }
    assert rates.per_type["TodoChanged"].per_minute == 0.4


def test_the_screen_shows_every_queue_and_its_dlq(topology_addresses, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'todo-api.sqlite3'}"
    subprocess.run([str(BIN / "todo-api-migrate")], env={**os.environ, "DATABASE_URL": database_url}, check=True)
    send(make_client("sqs"), topology_addresses.queues["ical-worker"].dlq_url, 1)

    finished = taskoverflow_status(database_url=database_url)

    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    for spec in load_topology().queues.values():
        assert any(line.split()[:1] == [spec.name] for line in lines), spec.name
        assert any(line.split()[:2] == ["└", spec.dlq_name] for line in lines), spec.dlq_name
    worker_dlq = load_topology().queues["ical-worker"].dlq_name
    assert next(line for line in lines if worker_dlq in line).split()[2:5] == ["1", "0", "0"]
    for heading in ("Outbox", "Calendar jobs", "Events in the last 5m"):
        assert heading in finished.stdout


def test_a_part_that_cannot_be_reached_is_shown_unavailable_with_its_reason(topology_addresses, tmp_path):
    closed_port = f"postgresql+psycopg2://status:secret@127.0.0.1:{_closed_port()}/todos"

    finished = taskoverflow_status("--json", database_url=closed_port)
    screen = taskoverflow_status(database_url=closed_port, AWS_ENDPOINT_URL=f"http://127.0.0.1:{_closed_port()}")

    assert finished.returncode == 1 and "Traceback" not in finished.stderr
    reading = json.loads(finished.stdout)
    assert reading["unavailable_parts"] == ["outbox", "calendar_jobs"]
    reason = reading["outbox"]["unavailable"]
    assert "OperationalError" in reason and "status:***@127.0.0.1" in reason and "secret" not in reason
    assert reading["queues"]["services"][0]["queue"]["visible"] == 0
    assert screen.returncode == 1 and "Traceback" not in screen.stderr
    assert "every queue: EndpointConnectionError" in screen.stdout
    assert "Event rates: unavailable" in screen.stdout


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (59.9, "59s"), (185, "3m 05s"), (7380, "2h 03m"), (4 * 86400 + 7 * 3600, "4d 07h")],
)
def test_durations_show_two_units_at_most(seconds, shown):
    assert duration(seconds) == shown


def _closed_port() -> int:
    from tests.support.moto import free_port

    return free_port()
