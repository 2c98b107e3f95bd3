"""The REST API (`/api/v1/...`), its OpenAPI description and docs, and the web page.

Every client mistake answers 4xx `{"error": "..."}`; nothing a client sends should reach a 5xx.
Each API route carries its `Operation`, from which `/api/v1/openapi.json` is built.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import structlog
from flask import Flask, Response, g, jsonify, request, send_from_directory, stream_with_context
from flask_swagger_ui import get_swaggerui_blueprint
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from taskoverflow_shared.asyncapi import published_asyncapi_document
from taskoverflow_shared.events import TodoState
from taskoverflow_shared.logging_setup import bound_trace, configure_logging
from taskoverflow_shared.tracing import CORRELATION_ID, configure_tracing, mark_failed, tracer, tracing_on
from todo_api.adapters.calendar_storage import StorageUnavailable
from todo_api.adapters.database import DATABASE_UNAVAILABLE
from todo_api.bootstrap import TodoApi, bootstrap
from todo_api.domain.commands import (
    CalendarRequest,
    CreateTodo,
    DeleteTodo,
    NewTodo,
    RequestCalendar,
    TodoChanges,
    UpdateTodo,
)
from todo_api.domain.model import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidInput, JobStatus, NotFound
from todo_api.entrypoints.authentication import install_authentication, needs_token
from todo_api.entrypoints.calendar_feeds import calendar_feeds_blueprint
from todo_api.entrypoints.http_metrics import register_http_metrics, start_metrics_export
from todo_api.entrypoints.idempotency_keys import idempotency_key
from todo_api.entrypoints.openapi import (
    COMPLETED_FILTER,
    CORRELATION_HEADER,
    CORRELATION_ID_PATTERN,
    MAX_STATUS_WAIT_SECONDS,
    PAGE_LIMIT,
    PAGE_OFFSET,
    RETRY_AFTER_HEADER,
    RETRY_AFTER_SECONDS,
    STATUS_WAIT,
    WINDOW_FILTER,
    Operation,
    Reply,
    documented,
    openapi_document,
)
from todo_api.entrypoints.request_bodies import request_body
from todo_api.entrypoints.request_limits import register_request_limits
from todo_api.entrypoints.response_bodies import (
    CalendarJobAccepted,
    CalendarJobStatus,
    Error,
    Health,
    json_array_chunks,
)
from todo_api.views import calendar_download, parse_filters

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# What a client should wait before trying again while the database or S3 is unreachable.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5
MAX_BODY_BYTES = 64 * 1024
MAX_TASK_ID_LENGTH = 64
OPENAPI_PATH = "/api/v1/openapi.json"
ASYNCAPI_PATH = "/api/v1/asyncapi.json"
DOCS_PATH = "/api/v1/docs"
PAGE_CONTENT_SECURITY_POLICY = "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
_CORRELATION_SHAPE = re.compile(CORRELATION_ID_PATTERN)
_TASK_ID_SHAPE = re.compile(r"[A-Za-z0-9-]+")

_TODO = Reply("The todo.", TodoState)
_JSON_OBJECT = {"type": "object"}
_CALENDAR_FILE = Reply(
    "The calendar: one VEVENT per todo with a deadline.",
    {"type": "string"},
    media_type="text/calendar",
    headers={
        "Content-Disposition": {
            "required": True,
            "schema": {"type": "string", "pattern": r'^inline; filename="todos-[^"]+\.ics"$'},
        },
    },
)

log = structlog.get_logger("todo_api.http")


def create_app(api: TodoApi | None = None) -> Flask:
    if api is None:
        configure_logging("todo-api")
        start_metrics_export()
        # Here, not at import: gunicorn forks its workers first, and each needs its own exporter thread.
        configure_tracing("todo-api")
        api = bootstrap()
    app = Flask(__name__, static_folder=None)
    register_http_metrics(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["todo_api"] = api
    bus, views = api.bus, api.views

    @app.before_request
    def _trace_request() -> None:
        given = request.headers.get(CORRELATION_HEADER, "")
        g.correlation_id = given if _CORRELATION_SHAPE.match(given) else str(uuid.uuid4())
        _start_server_span(g.correlation_id)
        g.trace = bound_trace(None, g.correlation_id)
        g.trace.__enter__()
        g.started = time.perf_counter()

    install_authentication(app, api.settings, api.token_verifier)  # sets g.owner

    @app.after_request
    def _log_request(response: Response) -> Response:
        response.headers[CORRELATION_HEADER] = g.correlation_id
        trace.get_current_span().set_attribute("http.response.status_code", response.status_code)
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - g.started) * 1000, 2),
        )
        return response

    @app.teardown_request
    def _untrace(error: BaseException | None) -> None:
        bound = g.pop("trace", None)
        if bound is not None:
            bound.__exit__(None, None, None)
        _end_server_span(error)

    @app.errorhandler(InvalidInput)
    def _invalid(error: InvalidInput):
        return jsonify(error=str(error)), 400

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound):
        return jsonify(error=str(error)), 404

    @app.errorhandler(IdempotencyKeyInUse)
    def _key_in_use(error: IdempotencyKeyInUse):
        return jsonify(error=str(error)), 409

    @app.errorhandler(IdempotencyKeyReused)
    def _key_reused(error: IdempotencyKeyReused):
        return jsonify(error=str(error)), 422

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        messages = {
            404: "not found",
            405: f"method {request.method} not allowed here",
            413: f"request body too large (limit {MAX_BODY_BYTES} bytes)",
        }
        response = jsonify(error=messages.get(error.code, error.description))
        response.status_code = error.code or 500
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            # RFC 9110 requires a 405 to say which methods the resource does allow.
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    # The client's request was fine and may succeed later: 503 with when to come back, not 500.
    def _database_unavailable(error: SQLAlchemyError):
        log.warning("database_unavailable", error=str(error.orig if hasattr(error, "orig") else error).strip()[:300])
        return _unavailable("the database is unavailable; try again shortly")

    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, _database_unavailable)

    @app.errorhandler(StorageUnavailable)
    def _storage_unavailable(error: StorageUnavailable):
        log.warning("storage_unavailable", error=str(error)[:300])
        return _unavailable("calendar storage is unavailable; try again shortly")

    def _unavailable(message: str) -> Response:
        response = jsonify(error=message)
        response.status_code = 503
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled_error")
        return jsonify(error="internal error"), 500

    @app.get("/")
    def index():
        response = send_from_directory(STATIC_DIR, "index.html")
        # The page runs only its own files: text that slipped in as markup could not run or call out.
        response.headers["Content-Security-Policy"] = PAGE_CONTENT_SECURITY_POLICY
        return response

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return send_from_directory(STATIC_DIR, name)

    @app.get("/api/v1/health")
    @documented(
        Operation(
            "Is the API up, and is its database reachable?",
            "service",
            {200: Reply("Up.", Health), 503: Reply("The database is unreachable.", Error)},
        )
    )
    def health():
        try:
            lag = views.outbox_lag_seconds()
        except SQLAlchemyError:
            log.exception("health_check_failed")
            return jsonify(error="database unreachable"), 503
        return jsonify(status="ok", database="ok", outbox_lag_seconds=round(lag, 3))

    @app.get("/api/v1/todos")
    @documented(
        Operation(
            "List todos, oldest first",
            "todos",
            {200: Reply("The todos that pass every filter given.", list[TodoState]), 400: "BadRequest"},
            query=(COMPLETED_FILTER, WINDOW_FILTER, PAGE_LIMIT, PAGE_OFFSET),
        )
    )
    def list_todos():
        todos = views.todos(parse_filters(request.args.to_dict()), g.owner)
        # Written as jsonify writes it (compact, a final newline), a batch at a time.
        chunks = json_array_chunks(todos, partial(app.json.dumps, separators=(",", ":")))
        return Response(chunks, mimetype="application/json")

    @app.post("/api/v1/todos")
    @documented(
        Operation(
            "Create a todo",
            "todos",
            {201: Reply("Created.", TodoState), 400: "BadRequest", 413: "PayloadTooLarge"},
            body=NewTodo,
            idempotent_with_key=True,
        )
    )
    def create_todo():
        key = idempotency_key()  # first: it reads the body before request_body consumes it
        todo = bus.handle(CreateTodo(request_body(NewTodo), g.correlation_id, g.owner, key))
        return jsonify(todo.model_dump()), 201

    @app.get("/api/v1/todos/<int:todo_id>")
    @documented(Operation("Get a todo", "todos", {200: _TODO, 404: "NotFound"}))
    def get_todo(todo_id: int):
        return jsonify(views.todo(todo_id, g.owner))

    @app.put("/api/v1/todos/<int:todo_id>")
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
    def update_todo(todo_id: int):
        key = idempotency_key()
        command = UpdateTodo(todo_id, request_body(TodoChanges), g.correlation_id, g.owner, key)
        return jsonify(bus.handle(command).model_dump())

    @app.delete("/api/v1/todos/<int:todo_id>")
    @documented(
        Operation(
            "Delete a todo",
            "todos",
            {200: Reply("The todo as it was.", TodoState), 404: "NotFound"},
            idempotent_with_key=True,
        )
    )
    def delete_todo(todo_id: int):
        return jsonify(bus.handle(DeleteTodo(todo_id, g.correlation_id, g.owner, idempotency_key())).model_dump())

    @app.post("/api/v1/todos/ical")
    @documented(
        Operation(
            "Export the todos as an iCalendar file",
            "calendar",
            {
                202: Reply("Accepted: poll `task_url` until the job is SUCCESS or FAILURE.", CalendarJobAccepted),
                400: "BadRequest",
                413: "PayloadTooLarge",
            },
            description="Answers at once, whatever the number of todos; a worker renders the calendar.",
            body=CalendarRequest,
            body_required=False,
            idempotent_with_key=True,
        )
    )
    def request_calendar():
        key = idempotency_key()
        body = request_body(CalendarRequest, required=False)
        job_id = bus.handle(RequestCalendar(body, g.correlation_id, g.owner, g.email, key))
        return jsonify(task_id=job_id, task_url=_absolute(f"/api/v1/todos/ical/{job_id}/status")), 202

    # A long poll holds one of the process's threads: past this many at once, answer at once.
    long_polls = threading.BoundedSemaphore(api.settings.status_long_polls)

    @app.get("/api/v1/todos/ical/<task_id>/status")
    @documented(
        Operation(
            "Where a calendar job is",
            "calendar",
            {
                200: Reply(
                    "PENDING or STARTED, then SUCCESS or FAILURE for good.",
                    CalendarJobStatus,
                    headers={"Retry-After": RETRY_AFTER_HEADER},
                ),
                400: "BadRequest",
                404: "NotFound",
            },
            description=(
                "A job unfinished past its deadline is FAILURE, never PENDING forever. Poll it, "
                "or long-poll with `wait`: the answer comes as soon as the job is finished, or "
                "once `wait` seconds have passed. An unfinished job's answer carries `Retry-After`."
            ),
            query=(STATUS_WAIT,),
        )
    )
    def calendar_status(task_id: str):
        wait_seconds = _wait_seconds(request.args.get("wait"))
        task_id = _task_id(task_id)
        if wait_seconds > 0 and long_polls.acquire(blocking=False):
            try:
                job = views.calendar_job_once_finished(task_id, wait_seconds, g.owner)
            finally:
                long_polls.release()
        else:
            job = views.calendar_job(task_id, g.owner)
        body: dict[str, Any] = {
            "task_id": job.id,
            "task_status": job.status,
            "result_url": _absolute(f"/api/v1/todos/ical/{job.id}/result"),
        }
        if job.status == JobStatus.FAILURE:
            body["error"] = job.error
        response = jsonify(body)
        if not job.status.finished:
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.get("/api/v1/todos/ical/<task_id>/result")
    @documented(
        Operation(
            "Download the calendar",
            "calendar",
            {200: _CALENDAR_FILE, 404: "NotFound"},
            description="404 with the reason while the job is not SUCCESS, or if the id is unknown.",
        )
    )
    def calendar_result(task_id: str):
        job = views.calendar_job(_task_id(task_id), g.owner)
        if job.status == JobStatus.FAILURE:
            return jsonify(error=f"Task failed: {job.error}"), 404
        if job.status != JobStatus.SUCCESS:
            return jsonify(error="Task not finished"), 404
        chunks = calendar_download(api.calendar_files, api.calendar_locations, job)
        return Response(
            stream_with_context(chunks),
            mimetype="text/calendar",
            headers={
                "Content-Length": str(job.result_size_bytes),
                "Content-Disposition": f'inline; filename="todos-{job.id}.ics"',
            },
        )

    def _absolute(path: str) -> str:
        base = api.settings.public_base_url or request.host_url.rstrip("/")
        return f"{base}{path}"

    app.register_blueprint(calendar_feeds_blueprint(api))
    register_request_limits(app, api.settings)
    _add_docs(app, api.token_verifier is not None)
    return app


def _start_server_span(correlation_id: str) -> None:
    """The request's span, current until teardown; a client's `traceparent` continues its trace.

    By hand rather than opentelemetry-instrumentation-flask: the instrumentation cost ~1.5 ms
    of CPU per POST (it also records metrics and many attributes), this a fraction (README).
    """
    if not tracing_on():
        return
    route = request.url_rule.rule if request.url_rule is not None else "unmatched route"
    span = tracer.start_span(
        f"{request.method} {route}",
        context=propagate.extract(request.headers),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": request.method, "http.route": route, CORRELATION_ID: correlation_id},
    )
    g.span = span
    g.span_token = otel_context.attach(trace.set_span_in_context(span))


def _end_server_span(error: BaseException | None) -> None:
    span = g.pop("span", None)
    if span is None:
        return
    if error is not None:
        span.record_exception(error)
        mark_failed(span, str(error))
    span.end()
    otel_context.detach(g.pop("span_token"))


def _add_docs(app: Flask, auth_enabled: bool) -> None:
    """The API's descriptions and their viewer, and the events' AsyncAPI document beside them;
    added last, as the OpenAPI document describes every route."""
    document: dict[str, Any] = {}

    @app.get(OPENAPI_PATH)
    @documented(Operation("This document", "service", {200: Reply("OpenAPI 3.1.", _JSON_OBJECT)}))
    def openapi():
        return jsonify(document)

    @app.get(ASYNCAPI_PATH)
    @documented(Operation("The events' AsyncAPI 3.0 document", "service", {200: Reply("AsyncAPI 3.0.", _JSON_OBJECT)}))
    def asyncapi():
        return jsonify(published_asyncapi_document())

    # Swagger UI from the flask-swagger-ui wheel: no CDN, so the docs work offline.
    app.register_blueprint(
        get_swaggerui_blueprint(
            DOCS_PATH,
            OPENAPI_PATH,
            # validatorUrl: the default badge would fetch from the internet.
            config={"app_name": "TaskOverflow API", "validatorUrl": None},
        )
    )
    document.update(openapi_document(app, needs_token, auth_enabled))


def _wait_seconds(raw: str | None) -> float:
    if raw is None:
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_STATUS_WAIT_SECONDS:  # NaN fails this too
        raise InvalidInput(f"wait must be a number of seconds from 0 to {MAX_STATUS_WAIT_SECONDS}")
    return seconds


def _task_id(task_id: str) -> str:
    # Job ids are UUIDs: another shape cannot be a job, and some (a NUL from "%00") PostgreSQL
    # cannot even compare, so they are answered before the database is asked.
    if len(task_id) > MAX_TASK_ID_LENGTH:
        raise NotFound(f"task {task_id[:MAX_TASK_ID_LENGTH]}... not found")
    if not _TASK_ID_SHAPE.fullmatch(task_id):
        raise NotFound(f"task {task_id} not found")
    return task_id
