"""The database or S3 unreachable: clients get 503 with `Retry-After` and `{"error"}`, never 500;
a calendar the lifecycle rule expired is 404."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

from taskoverflow_shared.aws_clients import make_client
from tests.support.moto import free_port
from todo_api.adapters.calendar_storage import CalendarExpired, S3CalendarFiles, StorageUnavailable
from todo_api.bootstrap import bootstrap
from todo_api.entrypoints.flask_app import create_app

from ..conftest import settings_for
from .test_calendar_jobs import ready


@pytest.fixture
def unreachable_database_client(calendar_files):
    """The API over a PostgreSQL address nobody listens on."""
    api = bootstrap(
        settings_for(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/gone"), calendar_files=calendar_files
    )
    yield create_app(api).test_client()
    api.engine.dispose()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/todos", {"title": "later"}),
        ("get", "/api/v1/todos", None),
        ("put", "/api/v1/todos/1", {"completed": True}),
        ("post", "/api/v1/todos/ical", None),
        ("get", "/api/v1/todos/ical/some-job/status", None),
    ],
)
def test_while_the_database_is_unreachable_requests_answer_503_with_retry_after(
    unreachable_database_client, method, path, body
):
    response = getattr(unreachable_database_client, method)(path, json=body)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json == {"error": "the database is unavailable; try again shortly"}


def test_an_expired_calendar_answers_404_saying_so(client, todo_api):
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    todo_api.bus.consume(*ready(task_id))  # nothing is stored at the job's location

    response = client.get(f"/api/v1/todos/ical/{task_id}/result")

    assert response.status_code == 404
    assert response.json == {"error": "the calendar has expired; request a new one"}


def test_s3_reports_a_missing_calendar_as_expired(moto_server):
    s3 = make_client("s3")
    s3.create_bucket(Bucket="calendars-test")
    files = S3CalendarFiles(s3, "calendars-test", "snapshots/")

    with pytest.raises(CalendarExpired):
        files.open_calendar("calendars-test", "calendars/gone.ics")


def unreachable_s3():
    """An S3 client for an address nobody listens on, that tries once."""
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )


def test_s3_unreachable_is_storage_unavailable_and_the_api_answers_503(client, todo_api):
    files = S3CalendarFiles(unreachable_s3(), "calendars", "snapshots/")
    with pytest.raises(StorageUnavailable):
        files.open_calendar("calendars", "calendars/any.ics")

    todo_api.calendar_files = files
    task_id = client.post("/api/v1/todos/ical").json["task_id"]
    todo_api.bus.consume(*ready(task_id))
    response = client.get(f"/api/v1/todos/ical/{task_id}/result")

    assert (response.status_code, response.headers.get("Retry-After")) == (503, "5")
    assert response.json == {"error": "calendar storage is unavailable; try again shortly"}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_connections_give_up_on_slow_statements_and_lock_waits(todo_api):
    with todo_api.engine.connect() as connection:
        limits = [connection.exec_driver_sql(f"SHOW {name}").scalar() for name in ("statement_timeout", "lock_timeout")]

    assert limits == ["15s", "5s"]
