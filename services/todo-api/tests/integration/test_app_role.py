"""`todo-api-migrate`'s role-and-grants step on a real PostgreSQL: after it, the
application's role does all the API, the relay and the consumer do, and nothing more."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from taskoverflow_shared.events import new_envelope
from todo_api.bootstrap import bootstrap, build_relay
from todo_api.entrypoints.flask_app import create_app

from ..conftest import CapturingPublisher, calendar_ready, new_postgres_database, settings_for

MIGRATE = Path(sys.executable).parent / "todo-api-migrate"
APP_ROLE = f"app_{uuid.uuid4().hex[:8]}"


def migrate(owner_url: str, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MIGRATE)],
        env=os.environ | {"DATABASE_URL": owner_url} | environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def owner_url(postgres_cluster) -> str:
    return new_postgres_database(postgres_cluster, prefix="grants")


def as_role(owner_url: str, role: str) -> str:
    return (
        make_url(owner_url)
        .set(username=role, password="unused-the-test-cluster-trusts")
        .render_as_string(hide_password=False)
    )


def run_sql(url: str, statement: str):
    parts = make_url(url)
    connection = psycopg2.connect(host=parts.host, port=parts.port, user=parts.username, dbname=parts.database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else None
    finally:
        connection.close()


def test_the_app_role_does_what_the_services_do_and_cannot_change_the_schema(owner_url, calendar_files):
    first = migrate(owner_url, APP_DB_USERNAME=APP_ROLE, APP_DB_PASSWORD="first password")
    assert first.returncode == 0, first.stderr
    # Every release runs it again: it changes the password and keeps everything else.
    again = migrate(owner_url, APP_DB_USERNAME=APP_ROLE, APP_DB_PASSWORD="second password")
    assert again.returncode == 0, again.stderr
    assert "second password" not in again.stdout + again.stderr
    [(attributes)] = run_sql(
        owner_url,
        f"SELECT rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls, rolcanlogin, "
        f"left(rolpassword, 14) FROM pg_authid WHERE rolname = '{APP_ROLE}'",
    )
    assert attributes == (False, False, False, False, False, False, True, "SCRAM-SHA-256$")

    app_url = as_role(owner_url, APP_ROLE)
    api = bootstrap(settings_for(app_url), calendar_files=calendar_files)
    try:
        client = create_app(api).test_client()
        todo = client.post("/api/v1/todos", json={"title": "as the app", "deadline_at": "2030-01-01T00:00:00"})
        assert todo.status_code == 201
        assert client.put(f"/api/v1/todos/{todo.json['id']}", json={"completed": True}).status_code == 200
        assert [t["id"] for t in client.get("/api/v1/todos").json] == [todo.json["id"]]
        job = client.post("/api/v1/todos/ical").json["task_id"]
        # The relay: claims rows FOR UPDATE SKIP LOCKED, writes the snapshot, marks them published.
        publisher = CapturingPublisher()
        assert build_relay(api, publisher).relay_once() == 3
        # The consumer: records the worker's report on the job.
        report = calendar_ready(job)
        api.bus.consume(new_envelope(report, source="ical-worker", correlation_id="c"), report)
        assert client.get(f"/api/v1/todos/ical/{job}/status").json["task_status"] == "SUCCESS"
        assert client.delete(f"/api/v1/todos/{todo.json['id']}").status_code == 200
        assert client.get("/api/v1/health").status_code == 200
    finally:
        api.engine.dispose()

    for forbidden in (
        "DROP TABLE todos",
        "ALTER TABLE todos ADD COLUMN sneaky text",
        "CREATE TABLE sneaky (id int)",
        "TRUNCATE todos",
        "UPDATE alembic_version SET version_num = 'x'",
        "CREATE SCHEMA sneaky",
    ):
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            run_sql(app_url, forbidden)
    assert run_sql(app_url, "SELECT count(*) FROM alembic_version") == [(1,)]


def test_without_an_app_role_or_on_sqlite_the_step_is_skipped(owner_url, tmp_path):
    roles_before = run_sql(owner_url, "SELECT count(*) FROM pg_roles")
    assert migrate(owner_url).returncode == 0
    assert run_sql(owner_url, "SELECT count(*) FROM pg_roles") == roles_before
    sqlite = migrate(f"sqlite:///{tmp_path / 'todos.sqlite3'}", APP_DB_USERNAME="app", APP_DB_PASSWORD="p")
    assert sqlite.returncode == 0, sqlite.stderr
    assert "app_role_skipped" in sqlite.stdout + sqlite.stderr


def test_a_username_without_a_password_is_refused(owner_url):
    refused = migrate(owner_url, APP_DB_USERNAME=APP_ROLE)
    assert refused.returncode != 0
    assert "APP_DB_PASSWORD is required when APP_DB_USERNAME is set" in refused.stderr
