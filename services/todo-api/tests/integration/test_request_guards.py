"""What every answer carries, and what a browser's or a streamed request must do first."""

from __future__ import annotations

import io

import pytest

from todo_api.entrypoints.flask_app import MAX_BODY_BYTES

STREAMED = {"Transfer-Encoding": "chunked"}
FROM_ANOTHER_SITE = {"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"}


def _streamed(client, method: str, path: str, body: bytes, **headers: str):
    return client.open(
        path,
        method=method,
        input_stream=io.BytesIO(body),
        headers={**STREAMED, **headers},
        content_type="application/json",
        # As gunicorn says of a chunked body it de-chunks: read it to its end, it ends.
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/todos"), ("PUT", "/api/v1/todos/1")])
def test_a_streamed_body_over_the_limit_answers_413(client, method, path):
    body = b'{"title": "x", "description": "' + b"a" * MAX_BODY_BYTES + b'"}'
    response = _streamed(client, method, path, body)
    assert response.status_code == 413
    assert response.json == {"error": f"request body too large (limit {MAX_BODY_BYTES} bytes)"}


def test_a_streamed_body_within_the_limit_is_read_whole(client):
    response = _streamed(client, "POST", "/api/v1/todos", b'{"title": "streamed"}')
    assert response.status_code == 201
    assert response.json["title"] == "streamed"


def test_a_streamed_body_of_exactly_the_limit_is_not_refused_for_its_size(client):
    body = b'{"title": "x"}'.ljust(MAX_BODY_BYTES, b" ")
    assert _streamed(client, "POST", "/api/v1/todos", body).status_code == 201


@pytest.mark.parametrize("path", ["/", "/api/v1/health", "/api/v1/todos", "/api/v1/todos/999", "/nowhere"])
def test_every_answer_forbids_sniffing_and_sends_no_referrer(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_docs_page_runs_only_its_own_scripts_and_its_one_inline_script_by_hash(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "object-src 'none'" in policy


def test_a_bodiless_calendar_request_from_another_sites_page_is_refused(client):
    response = client.post("/api/v1/todos/ical", headers=FROM_ANOTHER_SITE)
    assert response.status_code == 415
    assert "application/json" in response.json["error"]


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/api/v1/todos/ical"), ("DELETE", "/api/v1/todos/1"), ("PUT", "/api/v1/todos/1")]
)
def test_a_browsers_write_without_json_or_a_preflighted_header_is_refused(client, method, path):
    response = client.open(path, method=method, headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 415
    assert set(response.json) == {"error"}


@pytest.mark.parametrize(
    "headers",
    [{"X-Requested-With": "fetch"}, {"Idempotency-Key": "k-1"}, {"Content-Type": "application/json"}],
)
def test_a_browsers_write_with_json_or_a_preflighted_header_is_taken(client, headers):
    response = client.post("/api/v1/todos/ical", headers={**FROM_ANOTHER_SITE, **headers})
    assert response.status_code == 202


def test_clients_that_are_not_browsers_write_as_the_contract_shows(client):
    assert client.post("/api/v1/todos/ical").status_code == 202
    todo = client.post("/api/v1/todos", json={"title": "x"}).json
    assert client.delete(f"/api/v1/todos/{todo['id']}").status_code == 200


@pytest.mark.parametrize("value", ["TRUE", "True", "FALSE", "1", "yes"])
def test_the_completed_filter_is_lowercase_true_or_false_only(client, value):
    response = client.get("/api/v1/todos", query_string={"completed": value})
    assert response.status_code == 400
    assert response.json == {"error": "completed must be true or false"}


@pytest.mark.parametrize("value", ["TRUE", "true", 1, "false"])
def test_completed_in_a_body_is_a_json_boolean(client, value):
    response = client.post("/api/v1/todos", json={"title": "x", "completed": value})
    assert response.status_code == 400
    assert response.json == {"error": "completed must be true or false"}
