"""Each request's correlation id, server span, bound log context and closing log line."""

from __future__ import annotations

import re
import time
import uuid
from contextlib import ExitStack

import structlog
from flask import Flask, Response, g, request
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from taskoverflow_shared.logging_setup import bound_trace
from taskoverflow_shared.tracing import CORRELATION_ID, TRACE_REQUESTED, mark_failed, tracer, tracing_on
from todo_api.entrypoints.openapi import CORRELATION_HEADER, CORRELATION_ID_PATTERN

_CORRELATION_SHAPE = re.compile(CORRELATION_ID_PATTERN)

log = structlog.get_logger("todo_api.http")


def register_request_tracing(app: Flask) -> None:
    """Register first: every later hook, view and error handler runs inside the request's trace."""
    app.before_request(_trace_request)
    app.after_request(_log_request)
    app.teardown_request(_untrace)


def _trace_request() -> None:
    given = request.headers.get(CORRELATION_HEADER, "")
    g.correlation_id = given if _CORRELATION_SHAPE.match(given) else str(uuid.uuid4())
    # Flask's hooks cannot hold a `with` block open across the request: the stack holds the
    # log context until teardown closes it.
    g.request_contexts = ExitStack()
    _start_server_span(g.correlation_id, requested=g.correlation_id == given)
    g.request_contexts.enter_context(bound_trace(None, g.correlation_id))
    g.started = time.perf_counter()


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


def _untrace(error: BaseException | None) -> None:
    contexts = g.pop("request_contexts", None)
    if contexts is not None:
        contexts.close()
    _end_server_span(error)


def _start_server_span(correlation_id: str, *, requested: bool) -> None:
    """The request's span, current until teardown; a client's `traceparent` continues its trace.
    A request whose client named its correlation id is traced whatever the sample ratio
    (`requested`): `make trace ID=<that id>` finds it.

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
        attributes={
            "http.request.method": request.method,
            "http.route": route,
            CORRELATION_ID: correlation_id,
            **({TRACE_REQUESTED: True} if requested else {}),
        },
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
