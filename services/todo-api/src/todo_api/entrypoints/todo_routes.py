"""`/api/v1/todos`: create, read, change and delete todos, each a thin call to the bus or views."""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, current_app, g, jsonify, request

from taskoverflow_shared.events import TodoState
from todo_api.domain.commands import CreateTodo, DeleteTodo, NewTodo, TodoChanges, UpdateTodo
from todo_api.entrypoints.app_context import todo_api
from todo_api.entrypoints.idempotency_keys import idempotency_key
from todo_api.entrypoints.openapi import (
    COMPLETED_FILTER,
    PAGE_LIMIT,
    PAGE_OFFSET,
    WINDOW_FILTER,
    Operation,
    Reply,
    documented,
)
from todo_api.entrypoints.request_bodies import request_body
from todo_api.entrypoints.response_bodies import json_array_chunks
from todo_api.views import parse_filters

todos = Blueprint("todos", __name__, url_prefix="/api/v1/todos")

_TODO = Reply("The todo.", TodoState)


@todos.get("")
@documented(
    Operation(
        "List todos, oldest first",
        "todos",
        {200: Reply("The todos that pass every filter given.", list[TodoState]), 400: "BadRequest"},
        query=(COMPLETED_FILTER, WINDOW_FILTER, PAGE_LIMIT, PAGE_OFFSET),
    )
)
def list_todos() -> Response:
    listed = todo_api().views.todos(parse_filters(request.args.to_dict()), g.owner)
    # Written as jsonify writes it (compact, a final newline), a batch at a time.
    chunks = json_array_chunks(listed, partial(current_app.json.dumps, separators=(",", ":")))
    return Response(chunks, mimetype="application/json")


@todos.post("")
@documented(
    Operation(
        "Create a todo",
        "todos",
        {201: Reply("Created.", TodoState), 400: "BadRequest", 413: "PayloadTooLarge"},
        body=NewTodo,
        idempotent_with_key=True,
    )
)
def create_todo() -> tuple[Response, int]:
    key = idempotency_key()  # first: it reads the body before request_body consumes it
    todo = todo_api().bus.handle(CreateTodo(request_body(NewTodo), g.correlation_id, g.owner, key))
    return jsonify(todo.model_dump()), 201


@todos.get("/<int:todo_id>")
@documented(Operation("Get a todo", "todos", {200: _TODO, 404: "NotFound"}))
def get_todo(todo_id: int) -> Response:
    return jsonify(todo_api().views.todo(todo_id, g.owner))


@todos.put("/<int:todo_id>")
@documented(
    Operation(
        "Change some fields of a todo",
        "todos",
        {200: Reply("The todo as changed.", TodoState), 400: "BadRequest", 404: "NotFound", 413: "PayloadTooLarge"},
        description="Partial: fields left out keep their value. The body is checked before the id is.",
        body=TodoChanges,
        idempotent_with_key=True,
    )
)
def update_todo(todo_id: int) -> Response:
    key = idempotency_key()
    command = UpdateTodo(todo_id, request_body(TodoChanges), g.correlation_id, g.owner, key)
    return jsonify(todo_api().bus.handle(command).model_dump())


@todos.delete("/<int:todo_id>")
@documented(
    Operation(
        "Delete a todo",
        "todos",
        {200: Reply("The todo as it was.", TodoState), 404: "NotFound"},
        idempotent_with_key=True,
    )
)
def delete_todo(todo_id: int) -> Response:
    command = DeleteTodo(todo_id, g.correlation_id, g.owner, idempotency_key())
    return jsonify(todo_api().bus.handle(command).model_dump())
