"""The calendar job sweeper on SQLite and PostgreSQL: deadlines enforced by a timer, not by reads;
a result that arrives after the deadline wins; finished jobs are forgotten after the retention."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from taskoverflow_shared.events import CalendarReady, Envelope, parse_data, parse_envelope
from tests.support.moto import wait_until
from todo_api.adapters.database import upgrade_to_latest
from todo_api.adapters.orm import OutboxRow, calendar_jobs
from todo_api.bootstrap import bootstrap
from todo_api.entrypoints.calendar_job_sweeper import CalendarJobSweeper
from todo_api.entrypoints.flask_app import create_app

from ..conftest import CALENDAR, calendar_ready, settings_for


def migrated(database_url, calendar_files, **settings):
    api = bootstrap(settings_for(database_url, **settings), calendar_files=calendar_files)
    upgrade_to_latest(api.engine)
    return api


def ready(job_id: str) -> tuple[Envelope, CalendarReady]:
    event = calendar_ready(job_id)
    return Envelope(type=event.event_type, source="t", schema_version="1.0", correlation_id="c", data={}), event


def stored_job(api, job_id: str):
    with api.engine.connect() as connection:
        return connection.execute(select(calendar_jobs).where(calendar_jobs.c.id == job_id)).one_or_none()


def outbox_events(api, event_type: str) -> list[Envelope]:
    with api.session_factory() as session:
        rows = session.scalars(select(OutboxRow.envelope).where(OutboxRow.event_type == event_type)).all()
    return [parse_envelope(row) for row in rows]


def test_an_overdue_job_nobody_polls_becomes_failure_and_its_failure_is_announced(database_url, calendar_files):
    api = migrated(database_url, calendar_files, calendar_job_deadline_seconds=0.001)
    client = create_app(api).test_client()
    task_id = client.post("/api/v1/todos/ical", json={"notify_email": "me@example.com"}).json["task_id"]
    sweeper = CalendarJobSweeper(api.bus, interval_seconds=1, batch_size=10)

    assert sweeper.sweep().failed == 1

    row = stored_job(api, task_id)
    assert (row.status, row.error, row.finished_at is not None) == ("FAILURE", "deadline passed", True)
    (failed,) = outbox_events(api, "CalendarFailed")
    assert (failed.subject, parse_data(failed).deadline_passed) == (f"calendars/{task_id}", True)
    assert parse_data(failed).notify_email == "me@example.com"
    status = client.get(f"/api/v1/todos/ical/{task_id}/status").json
    assert (status["task_status"], status["error"]) == ("FAILURE", "deadline passed")
    assert sweeper.sweep().failed == 0
    assert len(outbox_events(api, "CalendarFailed")) == 1
    api.engine.dispose()


def test_a_read_never_fails_a_job_so_the_outcome_does_not_depend_on_who_polled(database_url, calendar_files):
    api = migrated(database_url, calendar_files, calendar_job_deadline_seconds=0.001)
    client = create_app(api).test_client()
    polled, unpolled = (client.post("/api/v1/todos/ical").json["task_id"] for _ in range(2))

    for _ in range(3):
        assert client.get(f"/api/v1/todos/ical/{polled}/status").json["task_status"] == "PENDING"
    assert stored_job(api, polled).status == "PENDING"
    CalendarJobSweeper(api.bus, interval_seconds=1, batch_size=10).sweep()

    outcomes = {
        job_id: (stored_job(api, job_id).status, stored_job(api, job_id).error) for job_id in (polled, unpolled)
    }
    assert outcomes == {polled: ("FAILURE", "deadline passed"), unpolled: ("FAILURE", "deadline passed")}
    api.engine.dispose()


def test_a_calendar_ready_after_the_deadline_failure_wins_and_its_link_works(database_url, calendar_files):
    api = migrated(database_url, calendar_files, calendar_job_deadline_seconds=0.001)
    client = create_app(api).test_client()
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    CalendarJobSweeper(api.bus, interval_seconds=1, batch_size=10).sweep()
    calendar_files.store(task_id, CALENDAR)

    api.bus.consume(*ready(task_id))

    status = client.get(f"/api/v1/todos/ical/{task_id}/status").json
    assert (status["task_status"], "error" in status) == ("SUCCESS", False)
    result = client.get(f"/api/v1/todos/ical/{task_id}/result")
    assert (result.status_code, result.data) == (200, CALENDAR)
    api.engine.dispose()


def test_finished_jobs_older_than_the_retention_are_deleted_in_batches(database_url, calendar_files):
    api = migrated(database_url, calendar_files, calendar_job_retention_days=7)
    client = create_app(api).test_client()
    jobs = [
        client.post("/api/v1/todos/ical", json={"notify_email": "me@example.com"}).json["task_id"] for _ in range(5)
    ]
    for job_id in jobs[:4]:
        api.bus.consume(*ready(job_id))
    long_ago = datetime.now(UTC) - timedelta(days=8)
    with api.engine.begin() as connection:
        connection.execute(update(calendar_jobs).where(calendar_jobs.c.id.in_(jobs[:3])).values(finished_at=long_ago))

    result = CalendarJobSweeper(api.bus, interval_seconds=1, batch_size=2).sweep()

    assert result.forgotten == 3
    with api.engine.connect() as connection:
        left = set(connection.execute(select(calendar_jobs.c.id)).scalars())
    assert left == set(jobs[3:]), "the recent finished job and the unfinished one stay"
    assert client.get(f"/api/v1/todos/ical/{jobs[0]}/status").status_code == 404
    api.engine.dispose()


def test_the_sweeper_sweeps_on_its_timer_until_stopped(database_url, calendar_files):
    api = migrated(database_url, calendar_files, calendar_job_deadline_seconds=0.001)
    client = create_app(api).test_client()
    stop = threading.Event()
    sweeping = threading.Thread(
        target=CalendarJobSweeper(api.bus, interval_seconds=0.05, batch_size=10).run, args=(stop,)
    )
    sweeping.start()
    try:
        task_id = client.post("/api/v1/todos/ical").json["task_id"]
        wait_until(lambda: stored_job(api, task_id).status == "FAILURE", timeout=10, message="the sweep")
    finally:
        stop.set()
        sweeping.join(timeout=10)
    assert not sweeping.is_alive()
    with api.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(calendar_jobs)).scalar() == 1
    api.engine.dispose()
