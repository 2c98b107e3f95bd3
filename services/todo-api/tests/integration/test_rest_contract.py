"""The public REST contract, row by row, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

FULLWIDTH_DATE = "\uff12\uff10\uff12\uff16-01-01T10:00:00"  # digits to Unicode, not to the API
VALID = {"title": "Buy milk", "description": "semi-skimmed", "deadline_at": "2030-01-02T09:30:00"}


def create(client, **fields):
    response = client.post("/api/v1/todos", json={"title": "t"} | fields)
    assert response.status_code == 201, response.json
    return response.json


def test_health_answers_ok(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json["status"] == "ok"


def test_create_returns_the_todo_with_server_fields(client):
    response = client.post("/api/v1/todos", json=VALID)
    assert response.status_code == 201
    todo = response.json
    assert todo["title"] == "Buy milk"
    assert todo["description"] == "semi-skimmed"
    assert todo["completed"] is False
    assert todo["deadline_at"] == "2030-01-02T09:30:00"
    assert isinstance(todo["id"], int)
    assert datetime.fromisoformat(todo["created_at"]).tzinfo is not None
    assert todo["created_at"] == todo["updated_at"]
    assert client.get(f"/api/v1/todos/{todo['id']}").json == todo


def test_minimal_todo_gets_defaults(client):
    todo = client.post("/api/v1/todos", json={"title": "x"}).json
    assert (todo["description"], todo["completed"], todo["deadline_at"]) == (None, False, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "title is required"),
        ({"description": "no title"}, "title is required"),
        ({"title": ""}, "title must not be empty"),
        ({"title": "   "}, "title must not be empty"),
        ({"title": None}, "title is required"),
        ({"title": "x", "id": 5}, "unknown field 'id'"),
        ({"title": "x", "created_at": "2020-01-01T00:00:00"}, "unknown field 'created_at'"),
        ({"title": "x", "updated_at": "2020-01-01T00:00:00"}, "unknown field 'updated_at'"),
        ({"title": "x", "priority": 1}, "unknown field 'priority'"),
        ({"title": 42}, "title must be a string"),
        ({"title": ["a"]}, "title must be a string"),
        ({"title": "x", "description": 3}, "description must be a string"),
        ({"title": "x", "completed": "true"}, "completed must be true or false"),
        ({"title": "x", "completed": 1}, "completed must be true or false"),
        ({"title": "x", "completed": None}, "completed must be true or false"),
        ({"title": "x", "deadline_at": "tomorrow"}, "deadline_at must look like YYYY-MM-DDTHH:MM:SS"),
        ({"title": "x", "deadline_at": "2026-02-30T10:00:00"}, "deadline_at is not a real date and time"),
        ({"title": "x", "deadline_at": "2026-01-01"}, "deadline_at must look like YYYY-MM-DDTHH:MM:SS"),
        ({"title": "x", "deadline_at": "2026-01-01T10:00:00Z"}, "deadline_at must look like YYYY-MM-DDTHH:MM:SS"),
        ({"title": "x", "deadline_at": 1700000000}, "deadline_at must be a string"),
        ({"title": "x", "deadline_at": FULLWIDTH_DATE}, "deadline_at must look like YYYY-MM-DDTHH:MM:SS"),
        ({"title": "x" * 81}, "title must be at most 80 characters"),
        ({"title": "x", "description": "d" * 121}, "description must be at most 120 characters"),
        ([{"title": "x"}], "request body must be a JSON object"),
        ("just a string", "request body must be a JSON object"),
    ],
)
def test_create_rejects_bad_input_with_a_clear_400(client, body, message):
    response = client.post("/api/v1/todos", json=body)
    assert response.status_code == 400
    assert message in response.json["error"]
    assert client.get("/api/v1/todos").json == []


@pytest.mark.parametrize("raw", [b"", b"not json", b"{'title': 'x'}", b"\xff\xfe", b'{"title": "x"'])
def test_create_rejects_non_json_bodies(client, raw):
    response = client.post("/api/v1/todos", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json == {"error": "request body must be a JSON object"}


def test_boundary_lengths_are_accepted(client):
    todo = create(client, title="x" * 80, description="d" * 120)
    assert len(todo["title"]) == 80


def test_oversized_body_is_413_with_an_error(client):
    response = client.post("/api/v1/todos", data=b"{" + b" " * 70_000 + b"}", content_type="application/json")
    assert response.status_code == 413
    assert "too large" in response.json["error"]


def test_update_is_partial_and_bumps_updated_at(client):
    todo = create(client, **VALID)
    response = client.put(f"/api/v1/todos/{todo['id']}", json={"completed": True})
    assert response.status_code == 200
    updated = response.json
    assert updated["completed"] is True
    assert (updated["title"], updated["description"], updated["deadline_at"]) == (
        todo["title"],
        todo["description"],
        todo["deadline_at"],
    )
    assert updated["updated_at"] > todo["updated_at"]
    assert updated["created_at"] == todo["created_at"]


def test_update_can_clear_nullable_fields(client):
    todo = create(client, **VALID)
    updated = client.put(f"/api/v1/todos/{todo['id']}", json={"description": None, "deadline_at": None}).json
    assert (updated["description"], updated["deadline_at"]) == (None, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": ""}, "title must not be empty"),
        ({"title": None}, "title must not be null"),
        ({"completed": None}, "completed must be true or false"),
        ({"completed": "yes"}, "completed must be true or false"),
        ({"id": 9}, "unknown field 'id'"),
        ({"updated_at": "2020-01-01T00:00:00"}, "unknown field 'updated_at'"),
        ({"deadline_at": "31/12/2026"}, "deadline_at must look like YYYY-MM-DDTHH:MM:SS"),
        ({"description": "d" * 121}, "description must be at most 120 characters"),
        ({}, "nothing to update"),
        ([], "request body must be a JSON object"),
    ],
)
def test_update_rejects_bad_input_and_changes_nothing(client, body, message):
    todo = create(client, **VALID)
    response = client.put(f"/api/v1/todos/{todo['id']}", json=body)
    assert response.status_code == 400
    assert message in response.json["error"]
    assert client.get(f"/api/v1/todos/{todo['id']}").json == todo


def test_delete_returns_the_deleted_todo_and_it_is_gone(client):
    todo = create(client)
    response = client.delete(f"/api/v1/todos/{todo['id']}")
    assert response.status_code == 200
    assert response.json == todo
    assert client.get(f"/api/v1/todos/{todo['id']}").status_code == 404
    assert client.delete(f"/api/v1/todos/{todo['id']}").status_code == 404


@pytest.mark.parametrize("todo_id", ["999", "0", "-1", "abc", "99999999999999999999999"])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_unknown_ids_are_404_with_an_error(client, method, todo_id):
    response = getattr(client, method)(f"/api/v1/todos/{todo_id}", json={"title": "x"})
    assert response.status_code == 404
    assert "error" in response.json


def test_list_filters_by_completed(client):
    done = create(client, title="done", completed=True)
    open_ = create(client, title="open")
    assert [t["id"] for t in client.get("/api/v1/todos").json] == [done["id"], open_["id"]]
    assert [t["id"] for t in client.get("/api/v1/todos?completed=true").json] == [done["id"]]
    assert [t["id"] for t in client.get("/api/v1/todos?completed=false").json] == [open_["id"]]


def test_window_includes_past_deadlines_and_excludes_far_and_missing_ones(client):
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)

    def deadline(days):
        return (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")

    past = create(client, title="past", deadline_at=deadline(-10))
    soon = create(client, title="soon", deadline_at=deadline(2))
    create(client, title="later", deadline_at=deadline(30))
    create(client, title="no deadline")
    assert [t["id"] for t in client.get("/api/v1/todos?window=7").json] == [past["id"], soon["id"]]
    assert [t["id"] for t in client.get("/api/v1/todos?window=0").json] == [past["id"]]
    both = client.get("/api/v1/todos?window=7&completed=false").json
    assert [t["id"] for t in both] == [past["id"], soon["id"]]


@pytest.mark.parametrize(
    "query",
    ["completed=yes", "completed=", "completed=1", "window=-1", "window=abc", "window=1.5", "window=", "window=999999"],
)
def test_bad_filters_are_400(client, query):
    response = client.get(f"/api/v1/todos?{query}")
    assert response.status_code == 400
    assert "error" in response.json


def test_unknown_routes_and_methods_answer_json_errors(client):
    assert client.get("/api/v1/nothing-here").json == {"error": "not found"}
    response = client.patch("/api/v1/todos/1", json={})
    assert response.status_code == 405
    assert "error" in response.json
