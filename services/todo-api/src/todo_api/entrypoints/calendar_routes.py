"""`/api/v1/todos/ical`: ask for a calendar, follow its job, download it."""

from __future__ import annotations

import math
import re
import threading
from typing import Any, cast

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context
from flask.blueprints import BlueprintSetupState

from todo_api.domain.commands import CalendarRequest, RequestCalendar
from todo_api.domain.model import InvalidInput, JobStatus, NotFound
from todo_api.entrypoints.app_context import absolute_url, todo_api, todo_api_of
from todo_api.entrypoints.idempotency_keys import idempotency_key
from todo_api.entrypoints.openapi import (
    MAX_STATUS_WAIT_SECONDS,
    RETRY_AFTER_HEADER,
    RETRY_AFTER_SECONDS,
    STATUS_WAIT,
    Operation,
    Reply,
    documented,
)
from todo_api.entrypoints.request_bodies import request_body
from todo_api.entrypoints.response_bodies import CalendarJobAccepted, CalendarJobStatus

calendar = Blueprint("calendar", __name__, url_prefix="/api/v1/todos/ical")

MAX_TASK_ID_LENGTH = 64
_TASK_ID_SHAPE = re.compile(r"[A-Za-z0-9-]+")
_LONG_POLLS = "todo_api.calendar_long_polls"
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


@calendar.record_once
def _limit_long_polls(state: BlueprintSetupState) -> None:
    # A long poll holds one of the process's threads: past this many at once, answer at once.
    limit = todo_api_of(state.app).settings.status_long_polls
    state.app.extensions[_LONG_POLLS] = threading.BoundedSemaphore(limit)


@calendar.post("")
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
def request_calendar() -> tuple[Response, int]:
    key = idempotency_key()
    body = request_body(CalendarRequest, required=False)
    job_id = todo_api().bus.handle(RequestCalendar(body, g.correlation_id, g.owner, g.email, key))
    return jsonify(task_id=job_id, task_url=absolute_url(f"/api/v1/todos/ical/{job_id}/status")), 202


@calendar.get("/<task_id>/status")
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
def calendar_status(task_id: str) -> Response:
    wait_seconds = _wait_seconds(request.args.get("wait"))
    task_id = _task_id(task_id)
    views = todo_api().views
    long_polls = cast(threading.BoundedSemaphore, current_app.extensions[_LONG_POLLS])
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
        "result_url": absolute_url(f"/api/v1/todos/ical/{job.id}/result"),
    }
    if job.status == JobStatus.FAILURE:
        body["error"] = job.error
    response = jsonify(body)
    if not job.status.finished:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@calendar.get("/<task_id>/result")
@documented(
    Operation(
        "Download the calendar",
        "calendar",
        {200: _CALENDAR_FILE, 404: "NotFound"},
        description="404 with the reason while the job is not SUCCESS, or if the id is unknown.",
    )
)
def calendar_result(task_id: str) -> Response:
    file = todo_api().calendar_downloads.open(_task_id(task_id), g.owner)
    return Response(
        stream_with_context(file.chunks),
        mimetype="text/calendar",
        headers={
            "Content-Length": str(file.size_bytes),
            "Content-Disposition": f'inline; filename="{file.filename}"',
        },
    )


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
