"""The REST API (`/api/v1/...`) and the web page, over the TodoService use cases.

Every client mistake answers 4xx `{"error": "..."}`; nothing a client sends should reach a 5xx.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import structlog
from flask import Flask, Response, g, jsonify, request, send_from_directory, stream_with_context
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from taskoverflow_shared.logging_setup import bound_trace, configure_logging
from todo_api.adapters.outbox import oldest_pending_age_seconds
from todo_api.bootstrap import TodoApi, bootstrap
from todo_api.domain.calendar_jobs import JobStatus
from todo_api.domain.todos import InvalidInput, parse_filters, validate_new_todo, validate_todo_changes
from todo_api.handlers import NotFound

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MAX_BODY_BYTES = 64 * 1024
MAX_TASK_ID_LENGTH = 64
CORRELATION_HEADER = "X-Correlation-ID"
_CORRELATION_SHAPE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")

log = structlog.get_logger("todo_api.http")


def create_app(api: TodoApi | None = None) -> Flask:
    if api is None:
        configure_logging("todo-api")
        api = bootstrap()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False
    app.extensions["todo_api"] = api
    service = api.service

    @app.before_request
    def _trace_request() -> None:
        given = request.headers.get(CORRELATION_HEADER, "")
        g.correlation_id = given if _CORRELATION_SHAPE.match(given) else str(uuid.uuid4())
        g.trace = bound_trace(None, g.correlation_id)
        g.trace.__enter__()
        g.started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        response.headers[CORRELATION_HEADER] = g.correlation_id
        log.info(
            "http_request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - g.started) * 1000, 2),
        )
        return response

    @app.teardown_request
    def _untrace(_error: BaseException | None) -> None:
        trace = g.pop("trace", None)
        if trace is not None:
            trace.__exit__(None, None, None)

    @app.errorhandler(InvalidInput)
    def _invalid(error: InvalidInput):
        return jsonify(error=error.message), 400

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound):
        return jsonify(error=str(error)), 404

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        messages = {
            404: "not found",
            405: f"method {request.method} not allowed here",
            413: f"request body too large (limit {MAX_BODY_BYTES} bytes)",
        }
        return jsonify(error=messages.get(error.code, error.description)), error.code

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled_error")
        return jsonify(error="internal error"), 500

    @app.get("/")
    def index():
        return send_from_directory(STATIC_DIR, "index.html")

    @app.get("/static/<path:name>")
    def static_file(name: str):
        return send_from_directory(STATIC_DIR, name)

    @app.get("/api/v1/health")
    def health():
        with api.session_factory() as session:
            session.execute(text("SELECT 1"))
            lag = oldest_pending_age_seconds(session)
        return jsonify(status="ok", database="ok", outbox_lag_seconds=round(lag, 3))

    @app.get("/api/v1/todos")
    def list_todos():
        return jsonify(service.list_todos(parse_filters(request.args.to_dict())))

    @app.post("/api/v1/todos")
    def create_todo():
        todo = service.create_todo(validate_new_todo(_json_body()), g.correlation_id)
        return jsonify(todo), 201

    @app.get("/api/v1/todos/<int:todo_id>")
    def get_todo(todo_id: int):
        return jsonify(service.get_todo(todo_id))

    @app.put("/api/v1/todos/<int:todo_id>")
    def update_todo(todo_id: int):
        return jsonify(service.update_todo(todo_id, validate_todo_changes(_json_body()), g.correlation_id))

    @app.delete("/api/v1/todos/<int:todo_id>")
    def delete_todo(todo_id: int):
        return jsonify(service.delete_todo(todo_id, g.correlation_id))

    @app.post("/api/v1/todos/ical")
    def request_calendar():
        job_id = service.request_calendar(g.correlation_id, _notify_email(_optional_json_body()))
        return jsonify(task_id=job_id, task_url=_absolute(f"/api/v1/todos/ical/{job_id}/status")), 202

    @app.get("/api/v1/todos/ical/<task_id>/status")
    def calendar_status(task_id: str):
        job = service.calendar_job(_task_id(task_id))
        body: dict[str, Any] = {
            "task_id": job.id,
            "task_status": job.status,
            "result_url": _absolute(f"/api/v1/todos/ical/{job.id}/result"),
        }
        if job.status == JobStatus.FAILURE:
            body["error"] = job.error
        return jsonify(body)

    @app.get("/api/v1/todos/ical/<task_id>/result")
    def calendar_result(task_id: str):
        job = service.calendar_job(_task_id(task_id))
        if job.status == JobStatus.FAILURE:
            return jsonify(error=f"Task failed: {job.error}"), 404
        if job.status != JobStatus.SUCCESS:
            return jsonify(error="Task not finished"), 404
        chunks = api.calendar_files.open_calendar(job.result_bucket, job.result_key)
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

    return app


def _json_body() -> Any:
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("request body must be a JSON object") from None


def _optional_json_body() -> Any:
    return _json_body() if request.get_data(cache=True).strip() else {}


def _notify_email(body: Any) -> str | None:
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    unknown = sorted(set(body) - {"notify_email"})
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}")
    email = body.get("notify_email")
    if email is None:
        return None
    if not isinstance(email, str) or not _EMAIL_SHAPE.match(email):
        raise InvalidInput("notify_email must be an e-mail address")
    return email


def _task_id(task_id: str) -> str:
    if len(task_id) > MAX_TASK_ID_LENGTH:
        raise NotFound(f"task {task_id[:MAX_TASK_ID_LENGTH]}... not found")
    return task_id
