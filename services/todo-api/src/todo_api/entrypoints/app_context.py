"""What a view reaches through the running app: the wired `TodoApi`, and absolute URLs."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app, request

from todo_api.bootstrap import TodoApi

_EXTENSION = "todo_api"


def attach_todo_api(app: Flask, api: TodoApi) -> None:
    app.extensions[_EXTENSION] = api


def todo_api() -> TodoApi:
    """The service layer the current app was built with (bus, views, settings)."""
    return todo_api_of(current_app)


def todo_api_of(app: Flask) -> TodoApi:
    return cast(TodoApi, app.extensions[_EXTENSION])


def absolute_url(path: str) -> str:
    """`path` on the API's public base URL, or on the host the request was sent to."""
    base = todo_api().settings.public_base_url or request.host_url.rstrip("/")
    return f"{base}{path}"
