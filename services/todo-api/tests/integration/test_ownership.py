"""Authentication and ownership through the Flask app, on a real database, with a fake verifier.

(The real verifier against a real issuer is tests/e2e/test_authentication.py.)
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from structlog.testing import capture_logs

from taskoverflow_shared.events import CalendarRequested, Envelope
from todo_api.adapters.calendar_requests import CalendarRequestCompleter
from todo_api.adapters.database import upgrade_to_latest
from todo_api.adapters.identity import Identity, TokenRejected
from todo_api.adapters.outbox import OutboxRow
from todo_api.bootstrap import bootstrap
from todo_api.entrypoints.flask_app import create_app

from ..conftest import settings_for

AUTH = {
    "auth_jwks_url": "http://issuer.invalid/jwks.json",
    "auth_issuer": "http://issuer.invalid",
    "auth_audience": "page",
}


class FakeVerifier:
    """Tokens are user names; "bad" proves nothing."""

    def verify(self, token: str) -> Identity:
        if token == "bad":
            raise TokenRejected("the token has expired")
        return Identity(token, f"{token}@example.com")


@pytest.fixture
def api_with_auth(database_url, calendar_files):
    api = bootstrap(settings_for(database_url, **AUTH), calendar_files=calendar_files, token_verifier=FakeVerifier())
    upgrade_to_latest(api.engine)
    yield api
    api.engine.dispose()


def as_user(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {name}"}


def test_without_authentication_the_start_warns_and_the_page_is_told(todo_api):
    with capture_logs() as logs:
        app = create_app(todo_api)
    assert [entry["log_level"] for entry in logs if entry["event"] == "auth disabled"] == ["warning"]
    client = app.test_client()
    assert client.get("/api/v1/auth-config").json == {"enabled": False}
    assert client.post("/api/v1/todos", json={"title": "anyone's"}).status_code == 201


def test_a_missing_or_rejected_token_answers_401_with_a_bearer_challenge(api_with_auth):
    client = create_app(api_with_auth).test_client()
    missing = client.get("/api/v1/todos")
    assert (missing.status_code, missing.headers["WWW-Authenticate"]) == (401, 'Bearer realm="taskoverflow"')
    rejected = client.get("/api/v1/todos", headers=as_user("bad"))
    assert rejected.status_code == 401 and rejected.json == {"error": "the token has expired"}
    assert 'error="invalid_token"' in rejected.headers["WWW-Authenticate"]
    assert client.get("/api/v1/todos", headers={"Authorization": "Basic YTpi"}).status_code == 401
    for public in ("/api/v1/health", "/api/v1/openapi.json", "/api/v1/asyncapi.json", "/", "/static/app.js"):
        assert client.get(public).status_code == 200, public


def test_each_user_sees_changes_and_deletes_only_their_own_todos(api_with_auth):
    client = create_app(api_with_auth).test_client()
    ann = client.post("/api/v1/todos", json={"title": "Ann's"}, headers=as_user("ann")).json
    bob = client.post("/api/v1/todos", json={"title": "Bob's"}, headers=as_user("bob")).json

    assert [t["title"] for t in client.get("/api/v1/todos", headers=as_user("ann")).json] == ["Ann's"]
    assert client.get("/api/v1/todos", headers=as_user("carol")).json == []
    for method in ("get", "put", "delete"):
        answer = getattr(client, method)(f"/api/v1/todos/{ann['id']}", json={"completed": True}, headers=as_user("bob"))
        assert answer.status_code == 404, method
    assert client.get(f"/api/v1/todos/{ann['id']}", headers=as_user("ann")).json == ann
    assert client.delete(f"/api/v1/todos/{bob['id']}", headers=as_user("bob")).status_code == 200


def test_a_calendar_job_and_its_snapshot_belong_to_the_requester(api_with_auth, calendar_files):
    client = create_app(api_with_auth).test_client()
    client.post("/api/v1/todos", json={"title": "Ann's"}, headers=as_user("ann"))
    client.post("/api/v1/todos", json={"title": "Bob's"}, headers=as_user("bob"))
    task_id = client.post("/api/v1/todos/ical", headers=as_user("bob")).json["task_id"]

    assert client.get(f"/api/v1/todos/ical/{task_id}/status", headers=as_user("ann")).status_code == 404
    assert client.get(f"/api/v1/todos/ical/{task_id}/result", headers=as_user("ann")).status_code == 404
    assert client.get(f"/api/v1/todos/ical/{task_id}/status", headers=as_user("bob")).status_code == 200

    with Session(api_with_auth.engine) as session:
        row = session.query(OutboxRow).filter_by(event_type="CalendarRequested").one()
        completed = CalendarRequestCompleter(calendar_files, 128 * 1024)(
            session, Envelope.model_validate_json(row.envelope)
        )
    request = CalendarRequested.model_validate(completed.data)
    assert request.owner == "bob"
    assert [todo.title for todo in request.todos or []] == ["Bob's"]


def test_calendar_mail_goes_only_to_the_verified_address(api_with_auth):
    client = create_app(api_with_auth).test_client()
    other = client.post("/api/v1/todos/ical", json={"notify_email": "victim@example.com"}, headers=as_user("ann"))
    assert other.status_code == 400
    own = client.post("/api/v1/todos/ical", json={"notify_email": "ann@example.com"}, headers=as_user("ann"))
    assert own.status_code == 202
