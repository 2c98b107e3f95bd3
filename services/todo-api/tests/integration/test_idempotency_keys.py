"""`Idempotency-Key` through the Flask app on SQLite and PostgreSQL: a repeat changes nothing.

The case it exists for is a commit that went through while its answer was lost (the database
connection dropped at COMMIT): the API answered 503, the client sent the request again. Here the
loss is made by a unit of work whose commit succeeds and then raises what psycopg2 raises.
"""

from __future__ import annotations

import threading

import pytest
from flask import g
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from todo_api.adapters.orm import idempotency_keys
from todo_api.adapters.outbox import OutboxRow
from todo_api.adapters.repository import SqlAlchemyUnitOfWork
from todo_api.domain.commands import CreateTodo, NewTodo
from todo_api.domain.model import IdempotencyKeyInUse
from todo_api.entrypoints.flask_app import create_app
from todo_api.entrypoints.idempotency_keys import idempotency_key


def outbox_actions(todo_api) -> list[str]:
    with todo_api.session_factory() as session:
        return [row.event_type for row in session.scalars(select(OutboxRow).order_by(OutboxRow.id))]


@pytest.fixture
def answers_lost_after_commit(monkeypatch):
    """While set, every commit goes through and then fails as a dropped connection does."""
    lost = threading.Event()
    commit = SqlAlchemyUnitOfWork._commit

    def commit_then_lose_the_answer(self):
        commit(self)
        if lost.is_set():
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(SqlAlchemyUnitOfWork, "_commit", commit_then_lose_the_answer)
    return lost


def test_a_create_whose_answer_was_lost_is_made_once_when_sent_again_with_its_key(
    client, todo_api, answers_lost_after_commit
):
    answers_lost_after_commit.set()
    lost = client.post("/api/v1/todos", json={"title": "once"}, headers={"Idempotency-Key": "create-1"})
    assert lost.status_code == 503 and lost.headers["Retry-After"]
    answers_lost_after_commit.clear()

    again = client.post("/api/v1/todos", json={"title": "once"}, headers={"Idempotency-Key": "create-1"})
    once_more = client.post("/api/v1/todos", json={"title": "once"}, headers={"Idempotency-Key": "create-1"})

    assert again.status_code == once_more.status_code == 201
    assert again.json == once_more.json and again.json["title"] == "once"
    assert [todo["id"] for todo in client.get("/api/v1/todos").json] == [again.json["id"]]
    assert outbox_actions(todo_api) == ["TodoChanged"]


def test_without_a_key_the_same_loss_makes_a_duplicate(client, answers_lost_after_commit):
    # What the key is for: the API cannot tell a repeat from a new request without it.
    answers_lost_after_commit.set()
    assert client.post("/api/v1/todos", json={"title": "twice"}).status_code == 503
    answers_lost_after_commit.clear()
    assert client.post("/api/v1/todos", json={"title": "twice"}).status_code == 201
    assert [todo["title"] for todo in client.get("/api/v1/todos").json] == ["twice", "twice"]


def test_a_delete_whose_answer_was_lost_answers_200_with_the_todo_when_sent_again(
    client, todo_api, answers_lost_after_commit
):
    todo = client.post("/api/v1/todos", json={"title": "to go"}).json
    answers_lost_after_commit.set()
    assert client.delete(f"/api/v1/todos/{todo['id']}", headers={"Idempotency-Key": "delete-1"}).status_code == 503
    answers_lost_after_commit.clear()

    again = client.delete(f"/api/v1/todos/{todo['id']}", headers={"Idempotency-Key": "delete-1"})

    assert again.status_code == 200 and again.json["id"] == todo["id"] and again.json["title"] == "to go"
    assert client.get("/api/v1/todos").json == []
    assert client.delete(f"/api/v1/todos/{todo['id']}").status_code == 404  # a new request without the key
    assert outbox_actions(todo_api) == ["TodoChanged", "TodoChanged"]


def test_an_update_and_a_calendar_request_sent_twice_with_their_keys_act_once(client, todo_api):
    todo = client.post("/api/v1/todos", json={"title": "a"}).json
    headers = {"Idempotency-Key": "update-1"}
    first = client.put(f"/api/v1/todos/{todo['id']}", json={"completed": True}, headers=headers)
    second = client.put(f"/api/v1/todos/{todo['id']}", json={"completed": True}, headers=headers)
    assert first.status_code == second.status_code == 200 and first.json == second.json

    headers = {"Idempotency-Key": "calendar-1"}
    job = client.post("/api/v1/todos/ical", headers=headers)
    repeat = client.post("/api/v1/todos/ical", headers=headers)
    assert job.status_code == repeat.status_code == 202 and job.json == repeat.json

    assert outbox_actions(todo_api) == ["TodoChanged", "TodoChanged", "CalendarRequested"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/todos", {"title": "another title"}),
        ("PUT", "/api/v1/todos/1", {"title": "the same key"}),
        ("POST", "/api/v1/todos/ical", None),
    ],
)
def test_a_key_sent_again_with_another_request_answers_422_and_changes_nothing(client, todo_api, method, path, body):
    headers = {"Idempotency-Key": "reused"}
    assert client.post("/api/v1/todos", json={"title": "the same key"}, headers=headers).status_code == 201

    refused = client.open(path, method=method, json=body, headers=headers)

    assert refused.status_code == 422 and "Idempotency-Key" in refused.json["error"]
    assert [todo["title"] for todo in client.get("/api/v1/todos").json] == ["the same key"]
    assert outbox_actions(todo_api) == ["TodoChanged"]


@pytest.mark.parametrize("value", ["", "x" * 256, "caf\u00e9"])
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_answers_400(client, value):
    refused = client.post("/api/v1/todos", json={"title": "a"}, headers={"Idempotency-Key": value})
    assert refused.status_code == 400 and "Idempotency-Key" in refused.json["error"]
    assert client.get("/api/v1/todos").json == []


def test_a_refused_request_does_not_use_up_its_key(client):
    headers = {"Idempotency-Key": "first-try-was-bad"}
    assert client.post("/api/v1/todos", json={"title": ""}, headers=headers).status_code == 400
    assert client.post("/api/v1/todos", json={"title": ""}, headers=headers).status_code == 400
    assert client.delete("/api/v1/todos/999", headers=headers).status_code == 404


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_concurrent_request_with_the_same_key_waits_for_the_first_and_answers_409(client, todo_api):
    """The first request's transaction holds the key when the second comes: the second waits on
    the primary key, then is refused (409) rather than making the change a second time."""
    app = create_app(todo_api)
    headers = {"Idempotency-Key": "raced"}
    with app.test_request_context("/api/v1/todos", method="POST", json={"title": "raced"}, headers=headers):
        g.owner = None
        key = idempotency_key()
    first = SqlAlchemyUnitOfWork(todo_api.session_factory).__enter__()
    first.idempotency_keys.add(key, {"todo": {}})
    outcome: list[object] = []

    def second_request() -> None:
        try:
            outcome.append(todo_api.bus.handle(CreateTodo(NewTodo(title="raced"), "c", None, key)))
        except IdempotencyKeyInUse as refused:
            outcome.append(refused)

    racing = threading.Thread(target=second_request)
    racing.start()
    racing.join(timeout=1)
    assert racing.is_alive(), "the second request should wait for the first one's transaction"
    first.session.commit()
    first.session.close()
    racing.join(timeout=10)

    assert [type(result) for result in outcome] == [IdempotencyKeyInUse]
    with todo_api.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM todos")).scalar() == 0
        assert connection.execute(select(func.count()).select_from(idempotency_keys)).scalar() == 1
