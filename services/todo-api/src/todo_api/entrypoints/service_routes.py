"""The web page and its files, health, and the API's own descriptions with their viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, send_from_directory
from flask_swagger_ui import get_swaggerui_blueprint

from taskoverflow_shared.asyncapi import published_asyncapi_document
from todo_api.entrypoints.app_context import todo_api
from todo_api.entrypoints.error_answers import error_response
from todo_api.entrypoints.openapi import Operation, Reply, documented
from todo_api.entrypoints.response_bodies import Error, Health

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
OPENAPI_PATH = "/api/v1/openapi.json"
ASYNCAPI_PATH = "/api/v1/asyncapi.json"
DOCS_PATH = "/api/v1/docs"
PAGE_CONTENT_SECURITY_POLICY = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
_OPENAPI_DOCUMENT = "todo_api.openapi_document"
_JSON_OBJECT = {"type": "object"}

service = Blueprint("service", __name__)


@service.get("/")
def index() -> Response:
    response = send_from_directory(STATIC_DIR, "index.html")
    # The page runs only its own files: text that slipped in as markup could not run or call out.
    response.headers["Content-Security-Policy"] = PAGE_CONTENT_SECURITY_POLICY
    return response


@service.get("/static/<path:name>")
def static_file(name: str) -> Response:
    return send_from_directory(STATIC_DIR, name)


@service.get("/api/v1/health")
@documented(
    Operation(
        "Is the API up, and is its database reachable?",
        "service",
        {200: Reply("Up.", Health), 503: Reply("The database is unreachable.", Error)},
    )
)
def health() -> Response:
    lag = todo_api().views.outbox_lag_seconds_if_reachable()
    if lag is None:
        return error_response("database unreachable", 503)
    return jsonify(status="ok", database="ok", outbox_lag_seconds=round(lag, 3))


@service.get(OPENAPI_PATH)
@documented(Operation("This document", "service", {200: Reply("OpenAPI 3.1.", _JSON_OBJECT)}))
def openapi() -> Response:
    return jsonify(current_app.extensions[_OPENAPI_DOCUMENT])


@service.get(ASYNCAPI_PATH)
@documented(Operation("The events' AsyncAPI 3.0 document", "service", {200: Reply("AsyncAPI 3.0.", _JSON_OBJECT)}))
def asyncapi() -> Response:
    return jsonify(published_asyncapi_document())


def docs_viewer() -> Blueprint:
    """Swagger UI from the flask-swagger-ui wheel: no CDN, so the docs work offline."""
    return get_swaggerui_blueprint(
        DOCS_PATH,
        OPENAPI_PATH,
        # validatorUrl: the default badge would fetch from the internet.
        config={"app_name": "TaskOverflow API", "validatorUrl": None},
    )


def publish_openapi_document(app: Flask, document: dict[str, Any]) -> None:
    """What `OPENAPI_PATH` serves: built once every route is registered, as it describes them all."""
    app.extensions[_OPENAPI_DOCUMENT] = document
