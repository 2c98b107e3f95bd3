"""The abuse limits over HTTP: writes and calendar requests per client answer 429 with
Retry-After, bodies of another media type 415, and the list pages and streams."""

from __future__ import annotations

import json

import pytest
from flask import g, request

from todo_api.adapters.database import upgrade_to_latest
from todo_api.bootstrap import bootstrap
from todo_api.entrypoints.flask_app import create_app
from todo_api.views import MAX_PAGE_LIMIT

from ..conftest import settings_for


@pytest.fixture
def app_with(tmp_path, calendar_files):
    """An app on SQLite with the settings given; `X-Test-Owner` plays the part of a signed-in user."""
    made = []

    def make(**overrides):
        api = bootstrap(
            settings_for(f"sqlite:///{tmp_path / 'todos.sqlite3'}", **overrides), calendar_files=calendar_files
        )
        upgrade_to_latest(api.engine)
        made.append(api)
        app = create_app(api)

        # What authentication does once it has checked a token.
        @app.before_request
        def _owner_from_test_header() -> None:
            if "X-Test-Owner" in request.headers:
                g.owner = request.headers["X-Test-Owner"]

        return app.test_client()

    yield make
    for api in made:
        api.engine.dispose()


def _create(client, title="t", **headers):
    return client.post("/api/v1/todos", json={"title": title}, headers=headers)


def test_writes_past_the_limit_answer_429_with_retry_after_and_reads_still_answer(app_with):
    client = app_with(rate_limit_writes="3/minute")
    created = _create(client).get_json()
    assert client.put(f"/api/v1/todos/{created['id']}", json={"completed": True}).status_code == 200
    assert client.delete(f"/api/v1/todos/{created['id']}").status_code == 200

    refused = _create(client)

    assert refused.status_code == 429
    assert "too many requests" in refused.get_json()["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/api/v1/todos").status_code == 200
    assert client.get("/api/v1/health").status_code == 200


def test_calendar_requests_have_a_limit_of_their_own(app_with):
    client = app_with(rate_limit_calendars="2/minute", rate_limit_writes="5/minute")
    assert [client.post("/api/v1/todos/ical").status_code for _ in range(3)] == [202, 202, 429]
    assert _create(client).status_code == 201


def test_limits_set_off_let_every_write_and_calendar_request_through(app_with):
    client = app_with(rate_limit_writes="off", rate_limit_calendars="OFF")
    assert {_create(client).status_code for _ in range(130)} == {201}
    assert {client.post("/api/v1/todos/ical").status_code for _ in range(8)} == {202}


def test_with_every_limit_off_no_request_pays_for_the_limiter(app_with):
    # Its hooks would run on every request (a status poll's quarter of CPU) for nothing to count.
    assert "limiter" not in app_with(rate_limit_writes="off", rate_limit_calendars="off").application.extensions
    assert "limiter" in app_with(rate_limit_writes="off").application.extensions


def test_each_user_has_their_own_share_and_anonymous_clients_share_their_address(app_with):
    client = app_with(rate_limit_writes="2/minute")
    for owner in ("alice", "bob"):
        assert [_create(client, **{"X-Test-Owner": owner}).status_code for _ in range(3)] == [201, 201, 429]
    assert [_create(client).status_code for _ in range(3)] == [201, 201, 429]


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(app_with):
    untrusting = app_with(rate_limit_writes="1/minute")
    assert _create(untrusting, **{"X-Forwarded-For": "203.0.113.1"}).status_code == 201
    # Without a trusted proxy the header is the client's word: the request still counts as 127.0.0.1.
    assert _create(untrusting, **{"X-Forwarded-For": "203.0.113.2"}).status_code == 429

    behind_the_alb = app_with(rate_limit_writes="1/minute", trusted_proxy_count=1)
    # The ALB appends the address it saw; whatever the client wrote before it is not believed.
    assert _create(behind_the_alb, **{"X-Forwarded-For": "198.51.100.9, 203.0.113.1"}).status_code == 201
    assert _create(behind_the_alb, **{"X-Forwarded-For": "198.51.100.7, 203.0.113.1"}).status_code == 429
    assert _create(behind_the_alb, **{"X-Forwarded-For": "203.0.113.2"}).status_code == 201


@pytest.mark.parametrize("setting", ["rate_limit_writes", "rate_limit_calendars"])
def test_a_limit_that_is_not_a_rate_is_refused_at_start(setting):
    with pytest.raises(ValueError, match="is not a rate limit"):
        settings_for("sqlite://", **{setting: "lots"})


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
        "application/json; charset=latin-1",
    ],
)
def test_bodies_that_are_not_json_answer_415_on_every_route_that_takes_one(app_with, content_type):
    client = app_with()
    todo_id = _create(client).get_json()["id"]
    body = json.dumps({"title": "from another site"})
    headers = {"Content-Type": content_type} if content_type else {}

    for method, path in (
        ("post", "/api/v1/todos"),
        ("put", f"/api/v1/todos/{todo_id}"),
        ("post", "/api/v1/todos/ical"),
    ):
        response = getattr(client, method)(path, data=body, headers=headers)
        assert response.status_code == 415, (method, path)
        assert "application/json" in response.get_json()["error"]
    assert client.get(f"/api/v1/todos/{todo_id}").get_json()["title"] == "t"


def test_json_with_a_utf8_charset_and_a_calendar_request_without_a_body_are_accepted(app_with):
    client = app_with()
    created = client.post(
        "/api/v1/todos", data=json.dumps({"title": "é"}), headers={"Content-Type": "application/json; charset=UTF-8"}
    )
    assert created.status_code == 201
    assert client.post("/api/v1/todos/ical").status_code == 202


def test_the_list_pages_with_limit_and_offset_and_without_them_is_every_todo_streamed(app_with):
    client = app_with()
    ids = [_create(client, title=f"todo {n}").get_json()["id"] for n in range(7)]

    whole = client.get("/api/v1/todos")
    assert whole.is_streamed
    assert [todo["id"] for todo in whole.get_json()] == ids
    assert [t["id"] for t in client.get("/api/v1/todos?limit=3").get_json()] == ids[:3]
    assert [t["id"] for t in client.get("/api/v1/todos?limit=3&offset=3").get_json()] == ids[3:6]
    assert [t["id"] for t in client.get("/api/v1/todos?offset=5").get_json()] == ids[5:]
    assert client.get("/api/v1/todos?offset=70").get_json() == []
    assert [t["id"] for t in client.get("/api/v1/todos?limit=2&completed=false").get_json()] == ids[:2]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        f"limit={MAX_PAGE_LIMIT + 1}",
        "limit=-1",
        "limit=abc",
        "limit=",
        "offset=-1",
        "offset=1e3",
        "offset=" + "9" * 20,
    ],
)
def test_a_bad_page_answers_400(app_with, query):
    response = app_with().get(f"/api/v1/todos?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"].split()[0] in ("limit", "offset")
