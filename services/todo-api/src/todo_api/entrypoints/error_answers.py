"""How every error is answered: `{"error": "..."}` with its status, and `Retry-After` when the
client should come back later. One function builds them all, and one call registers the
handlers that turn exceptions into them.

Every client mistake answers 4xx; nothing a client sends should reach a 5xx.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from todo_api.bootstrap import UNAVAILABLE_DEPENDENCIES
from todo_api.domain.model import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidInput, NotFound

# What a client should wait before trying again while the database or S3 is unreachable.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5

log = structlog.get_logger("todo_api.http")


def error_response(
    message: str,
    status: int,
    *,
    retry_after_seconds: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """`{"error": message}` with `status`; `Retry-After` when the client may try again later."""
    response = jsonify(error=message)
    response.status_code = status
    if retry_after_seconds is not None:
        response.headers["Retry-After"] = str(retry_after_seconds)
    response.headers.update(headers or {})
    return response


_CLIENT_MISTAKES: dict[type[Exception], int] = {
    InvalidInput: 400,
    NotFound: 404,
    IdempotencyKeyInUse: 409,
    IdempotencyKeyReused: 422,
}


def register_error_handlers(app: Flask, max_body_bytes: int) -> None:
    """Every error the views let through, answered as `{"error": ...}`."""

    def client_mistake(error: Exception) -> Response:
        return error_response(str(error), _status_of(error))

    for mistake in _CLIENT_MISTAKES:
        app.register_error_handler(mistake, client_mistake)

    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        messages = {
            404: "not found",
            405: f"method {request.method} not allowed here",
            413: f"request body too large (limit {max_body_bytes} bytes)",
        }
        headers = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            # RFC 9110 requires a 405 to say which methods the resource does allow.
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(messages.get(status, error.description or ""), status, headers=headers)

    app.register_error_handler(HTTPException, http_error)

    # The client's request was fine and may succeed later: 503 with when to come back, not 500.
    def dependency_unavailable(error: Exception) -> Response:
        dependency, message = _unavailable_dependency(error)
        cause = getattr(error, "orig", None) or error
        log.warning(f"{dependency}_unavailable", error=str(cause).strip()[:300])
        return error_response(message, 503, retry_after_seconds=UNAVAILABLE_RETRY_AFTER_SECONDS)

    for unavailable in UNAVAILABLE_DEPENDENCIES:
        app.register_error_handler(unavailable, dependency_unavailable)

    def unexpected(error: Exception) -> Response:
        log.exception("unhandled_error")
        return error_response("internal error", 500)

    app.register_error_handler(Exception, unexpected)


def _status_of(error: Exception) -> int:
    for mistake, status in _CLIENT_MISTAKES.items():
        if isinstance(error, mistake):
            return status
    raise TypeError(f"{type(error).__name__} is no client mistake")


def _unavailable_dependency(error: Exception) -> tuple[str, str]:
    for unavailable, dependency in UNAVAILABLE_DEPENDENCIES.items():
        if isinstance(error, unavailable):
            return dependency, f"{_DEPENDENCY_NAMES[dependency]} is unavailable; try again shortly"
    raise TypeError(f"{type(error).__name__} names no dependency")


_DEPENDENCY_NAMES = {"database": "the database", "storage": "calendar storage"}
