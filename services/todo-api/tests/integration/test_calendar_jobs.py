"""Calendar jobs in the API: request, status, result, deadline, and the worker's reports."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import (
    CalendarFailed,
    CalendarReady,
    Envelope,
    TodoState,
    UnprocessableEvent,
    parse_data,
    parse_envelope,
)
from taskoverflow_shared.sns_publisher import SQS_MESSAGE_LIMIT_BYTES, SnsPublisher
from todo_api.adapters.database import upgrade_to_latest
from todo_api.adapters.orm import todos
from todo_api.bootstrap import bootstrap, build_relay
from todo_api.entrypoints.flask_app import create_app

from ..conftest import CALENDAR, CapturingPublisher, calendar_ready, settings_for


def ready(job_id: str, body: bytes = CALENDAR) -> tuple[Envelope, CalendarReady]:
    event = calendar_ready(job_id, body, event_count=1)
    return Envelope(type=event.event_type, source="t", schema_version="1.0", correlation_id="c", data={}), event


def test_request_answers_202_with_an_absolute_status_url_and_the_job_is_pending(client):
    response = client.post("/api/v1/todos/ical")
    assert response.status_code == 202
    task_id = response.json["task_id"]
    assert response.json["task_url"] == f"http://localhost/api/v1/todos/ical/{task_id}/status"
    status = client.get(response.json["task_url"]).json
    assert status == {
        "task_id": task_id,
        "task_status": "PENDING",
        "result_url": f"http://localhost/api/v1/todos/ical/{task_id}/result",
    }
    result = client.get(status["result_url"])
    assert result.status_code == 404
    assert result.json == {"error": "Task not finished"}


@pytest.mark.parametrize("suffix", ["status", "result"])
@pytest.mark.parametrize("task_id", ["no-such-task", "0" * 36, "x" * 500])
def test_unknown_task_ids_are_404_not_pending_forever(client, task_id, suffix):
    response = client.get(f"/api/v1/todos/ical/{task_id}/{suffix}")
    assert response.status_code == 404
    assert "not found" in response.json["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"notify_email": "not-an-address"}, "notify_email must be an e-mail address"),
        ({"notify_email": 5}, "notify_email must be an e-mail address"),
        ({"format": "ics"}, "unknown field 'format'"),
        ([1], "request body must be a JSON object"),
    ],
)
def test_calendar_request_body_is_validated(client, body, message):
    response = client.post("/api/v1/todos/ical", json=body)
    assert response.status_code == 400
    assert response.json["error"] == message


def test_calendar_ready_makes_the_job_succeed_and_the_result_is_the_calendar(client, todo_api, calendar_files):
    task_id = client.post("/api/v1/todos/ical", json={"notify_email": "me@example.com"}).json["task_id"]
    calendar_files.store(task_id, CALENDAR)
    todo_api.bus.consume(*ready(task_id))

    assert client.get(f"/api/v1/todos/ical/{task_id}/status").json["task_status"] == "SUCCESS"
    result = client.get(f"/api/v1/todos/ical/{task_id}/result")
    assert result.status_code == 200
    assert result.mimetype == "text/calendar"
    assert result.data == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"


def test_duplicate_and_late_reports_do_not_change_a_finished_job(client, todo_api):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    todo_api.bus.consume(*ready(task_id, b"first"))
    todo_api.bus.consume(*ready(task_id, b"second"))
    failed = CalendarFailed(job_id=task_id, reason="late")
    todo_api.bus.consume(ready(task_id)[0], failed)
    job = todo_api.views.calendar_job(task_id)
    assert (job.status, job.result_sha256, job.error) == ("SUCCESS", hashlib.sha256(b"first").hexdigest(), None)


def test_a_calendar_ready_naming_another_jobs_calendar_is_refused_and_serves_nothing(client, todo_api, calendar_files):
    mine = client.post("/api/v1/todos/ical").json["task_id"]
    theirs = client.post("/api/v1/todos/ical").json["task_id"]
    calendar_files.store(theirs, b"their todos")
    genuine = calendar_ready(theirs, b"their todos")
    forged = genuine.model_copy(update={"job_id": mine})

    with pytest.raises(UnprocessableEvent):
        todo_api.bus.consume(ready(mine)[0], forged)

    assert client.get(f"/api/v1/todos/ical/{mine}/status").json["task_status"] == "PENDING"
    assert client.get(f"/api/v1/todos/ical/{mine}/result").json == {"error": "Task not finished"}


def test_a_stored_calendar_that_is_not_the_one_recorded_is_not_served(client, todo_api, calendar_files):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    todo_api.bus.consume(*ready(task_id, CALENDAR))
    calendar_files.store(task_id, CALENDAR.replace(b"END", b"EVL"))

    result = client.get(f"/api/v1/todos/ical/{task_id}/result")

    assert result.status_code == 404
    assert "not the one recorded" in result.json["error"]


def test_calendar_failed_reports_failure_with_the_reason(client, todo_api):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    todo_api.bus.consume(ready(task_id)[0], CalendarFailed(job_id=task_id, reason="bad deadline"))
    status = client.get(f"/api/v1/todos/ical/{task_id}/status").json
    assert (status["task_status"], status["error"]) == ("FAILURE", "bad deadline")
    result = client.get(f"/api/v1/todos/ical/{task_id}/result")
    assert result.status_code == 404
    assert result.json == {"error": "Task failed: bad deadline"}


def test_reports_for_unknown_jobs_are_ignored(todo_api):
    todo_api.bus.consume(*ready("never-requested"))


def test_small_todo_sets_travel_inline_in_the_published_request(client, todo_api, calendar_files):
    client.post("/api/v1/todos", json={"title": "with deadline", "deadline_at": "2030-01-01T10:00:00"})
    client.post("/api/v1/todos", json={"title": "without deadline"})
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    publisher = CapturingPublisher()
    build_relay(todo_api, publisher).relay_once()

    (request,) = [parse_data(e) for e in publisher.envelopes if e.type == "CalendarRequested"]
    assert request.job_id == task_id
    assert request.todo_count == 2
    assert [todo.title for todo in request.todos] == ["with deadline", "without deadline"]
    assert request.snapshot is None
    assert calendar_files.snapshots == {}


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_100k_todos_go_by_claim_check_and_no_published_message_exceeds_256_kib(database_url, topology_addresses):
    api = bootstrap(settings_for(database_url))  # real S3 and SNS, in moto server
    upgrade_to_latest(api.engine)
    now = datetime.now(UTC)
    with api.session_factory() as session, session.begin():
        session.execute(
            insert(todos),
            [
                {
                    "title": f"todo number {n} " + "x" * 60,
                    "description": "d" * 120,
                    "completed": n % 2 == 0,
                    "deadline_at": datetime(2030, 1, 1 + n % 28, 9, 0) if n % 3 else None,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
                for n in range(100_000)
            ],
        )
    client = create_app(api).test_client()
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    publisher = SnsPublisher(make_client("sns"), topology_addresses.topic_arn)
    assert build_relay(api, publisher).relay_once() == 1

    sqs = make_client("sqs")
    message = sqs.receive_message(QueueUrl=topology_addresses.queues["ical-worker"].url, WaitTimeSeconds=5)["Messages"][
        0
    ]
    assert len(message["Body"].encode()) < SQS_MESSAGE_LIMIT_BYTES
    request = parse_data(parse_envelope(message["Body"]))
    assert (request.job_id, request.todo_count, request.todos) == (task_id, 100_000, None)
    snapshot = make_client("s3").get_object(Bucket=request.snapshot.bucket, Key=request.snapshot.key)["Body"].read()
    assert len(snapshot) == request.snapshot.size_bytes > 20 * SQS_MESSAGE_LIMIT_BYTES
    assert hashlib.sha256(snapshot).hexdigest() == request.snapshot.sha256
    lines = snapshot.decode().splitlines()
    assert len(lines) == 100_000
    assert TodoState.model_validate(json.loads(lines[-1])).title.startswith("todo number 99999 ")
    api.engine.dispose()
