"""The app factory: the REST API (`/api/v1/...`), its OpenAPI description and docs, and the web
page, wired from the rooms that hold them.

Each API route carries its `Operation`, from which `/api/v1/openapi.json` is built once every
route is registered. Every error answers `{"error": "..."}` (error_answers.py).
"""

from __future__ import annotations

from flask import Flask

from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.tracing import configure_tracing
from todo_api.bootstrap import TodoApi, bootstrap
from todo_api.entrypoints.app_context import attach_todo_api
from todo_api.entrypoints.authentication import install_authentication, needs_token
from todo_api.entrypoints.calendar_feeds import calendar_feeds
from todo_api.entrypoints.calendar_routes import calendar
from todo_api.entrypoints.error_answers import register_error_handlers
from todo_api.entrypoints.http_metrics import register_http_metrics, start_metrics_export
from todo_api.entrypoints.openapi import openapi_document
from todo_api.entrypoints.request_guards import register_request_guards
from todo_api.entrypoints.request_limits import register_request_limits
from todo_api.entrypoints.request_tracing import register_request_tracing
from todo_api.entrypoints.service_routes import docs_viewer, publish_openapi_document, service
from todo_api.entrypoints.todo_routes import todos

MAX_BODY_BYTES = 64 * 1024


def create_app(api: TodoApi | None = None) -> Flask:
    """The API on `api`, or on the real adapters (with logging, metrics and tracing) when None."""
    if api is None:
        configure_logging("todo-api")
        start_metrics_export()
        # Here, not at import: gunicorn forks its workers first, and each needs its own exporter thread.
        configure_tracing("todo-api")
        api = bootstrap()
    app = Flask(__name__, static_folder=None)
    register_http_metrics(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False  # type: ignore[attr-defined]
    attach_todo_api(app, api)
    # Hooks run in this order: the trace first, so authentication's answers are traced and logged.
    register_request_tracing(app)
    register_request_guards(app, MAX_BODY_BYTES)
    install_authentication(app, api.settings, api.token_verifier)  # sets g.owner
    register_error_handlers(app, MAX_BODY_BYTES)
    for blueprint in (service, todos, calendar, calendar_feeds, docs_viewer()):
        app.register_blueprint(blueprint)
    register_request_limits(app, api.settings)
    publish_openapi_document(app, openapi_document(app, needs_token, api.token_verifier is not None))
    return app
