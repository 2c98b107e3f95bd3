"""Polling a calendar job: a poll is one cheap read, `?wait=` long-polls, `Retry-After` hints."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event

from taskoverflow_shared.events import Envelope
from tests.support.moto import wait_until
from todo_api.adapters.database import upgrade_to_latest
from todo_api.bootstrap import bootstrap
from todo_api.entrypoints.calendar_job_sweeper import CalendarJobSweeper
from todo_api.entrypoints.flask_app import create_app

from ..conftest import calendar_ready, settings_for


def finish(todo_api, job_id: str) -> None:
    report = calendar_ready(job_id)
    envelope = Envelope(type=report.event_type, source="t", schema_version="1.0", correlation_id="c", data={})
    todo_api.bus.consume(envelope, report)


def status_url(task_id: str, query: str = "") -> str:
    return f"/api/v1/todos/ical/{task_id}/status{query}"


def test_an_unfinished_job_answers_retry_after_and_a_finished_one_does_not(client, todo_api):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    pending = client.get(status_url(task_id))
    assert (pending.json["task_status"], pending.headers["Retry-After"]) == ("PENDING", "1")

    finish(todo_api, task_id)
    done = client.get(status_url(task_id))
    assert done.json["task_status"] == "SUCCESS"
    assert "Retry-After" not in done.headers


def test_a_status_poll_is_one_primary_key_read_and_writes_nothing(client, todo_api):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    statements: list[str] = []
    record = lambda _conn, _cursor, statement, *_: statements.append(statement)  # noqa: E731
    event.listen(todo_api.engine, "before_cursor_execute", record)
    try:
        assert client.get(status_url(task_id)).status_code == 200
    finally:
        event.remove(todo_api.engine, "before_cursor_execute", record)
    assert len(statements) == 1
    assert statements[0].lstrip().upper().startswith("SELECT")
    assert "calendar_jobs.id = " in statements[0]


def test_a_long_poll_answers_as_soon_as_the_job_finishes(client, todo_api):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    worker = threading.Timer(0.3, finish, args=(todo_api, task_id))  # the report arrives mid-wait
    started = time.monotonic()
    worker.start()
    response = client.get(status_url(task_id, "?wait=20"))
    elapsed = time.monotonic() - started
    worker.join()

    assert response.json["task_status"] == "SUCCESS"
    assert "Retry-After" not in response.headers
    assert 0.3 <= elapsed < 5


def test_a_long_poll_answers_the_unfinished_status_once_the_wait_is_over(client):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    started = time.monotonic()
    response = client.get(status_url(task_id, "?wait=0.4"))
    elapsed = time.monotonic() - started

    assert (response.status_code, response.json["task_status"]) == (200, "PENDING")
    assert response.headers["Retry-After"] == "1"
    assert 0.4 <= elapsed < 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_long_poll_ends_with_failure_when_the_sweeper_fails_the_job(database_url, calendar_files):
    api = bootstrap(settings_for(database_url, calendar_job_deadline_seconds=0.001), calendar_files=calendar_files)
    upgrade_to_latest(api.engine)
    app = create_app(api)
    task_id = app.test_client().post("/api/v1/todos/ical").json["task_id"]
    with ThreadPoolExecutor(1) as pool:
        poll = pool.submit(app.test_client().get, status_url(task_id, "?wait=20"))
        CalendarJobSweeper(api.bus, interval_seconds=1, batch_size=10).sweep()
        status = poll.result(timeout=10).json
    assert (status["task_status"], status["error"]) == ("FAILURE", "deadline passed")
    api.engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("wait", ["-1", "20.5", "21", "abc", "", "nan", "inf", "1e400"])
def test_a_wait_that_is_not_0_to_20_seconds_is_400(client, wait):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    response = client.get(status_url(task_id, f"?wait={wait}"))
    assert response.status_code == 400
    assert response.json == {"error": "wait must be a number of seconds from 0 to 20"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unknown_job_is_404_at_once_even_with_a_wait(client):
    started = time.monotonic()
    assert client.get(status_url("0" * 36, "?wait=20")).status_code == 404
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_long_polls_beyond_the_process_limit_answer_at_once(database_url, calendar_files):
    api = bootstrap(settings_for(database_url, status_long_polls=1), calendar_files=calendar_files)
    upgrade_to_latest(api.engine)
    app = create_app(api)
    task_id = app.test_client().post("/api/v1/todos/ical").json["task_id"]
    waiting = threading.Event()
    read_job = api.views.calendar_job

    def observed_read(job_id, requester=None):
        if threading.current_thread() is not threading.main_thread():
            waiting.set()
        return read_job(job_id, requester)

    api.views.calendar_job = observed_read
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(app.test_client().get, status_url(task_id, "?wait=20"))
        wait_until(waiting.is_set, timeout=10, message="the first long poll")
        started = time.monotonic()
        second = app.test_client().get(status_url(task_id, "?wait=20"))
        assert (second.json["task_status"], second.headers["Retry-After"]) == ("PENDING", "1")
        assert time.monotonic() - started < 5
        finish(api, task_id)
        assert first.result(timeout=10).json["task_status"] == "SUCCESS"
    api.engine.dispose()
