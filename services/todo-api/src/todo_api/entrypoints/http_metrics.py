"""The API's request metrics, added to the Flask app in one call.

Each answered request counts once in `http_requests` (route template, method, status class) and
once in `http_request_duration`, the time to produce the response (a streamed calendar's body
not included). The route is the matched rule's template (`/api/v1/todos/<int:todo_id>`), never
the path, so ids do not multiply the metrics; a path no route matches is `unmatched`.

The Prometheus text is not served here, on the API's public port: `start_metrics_export` serves
it on METRICS_PORT (loopback unless METRICS_HOST says otherwise), like every worker's. On AWS
(METRICS_EXPORTER=emf) the metrics leave as log lines instead.
"""

from __future__ import annotations

import atexit
import time

from flask import Flask, Response, g, request

from taskoverflow_shared.metrics import Metrics, process_metrics, start_metrics
from todo_api.config import SERVICE

UNMATCHED_ROUTE = "unmatched"


def register_http_metrics(app: Flask, metrics: Metrics | None = None) -> None:
    """Measure every request of `app`. Call it first, right after the app is made: the clock
    then starts before any other `before_request` hook can answer."""
    metrics = metrics or process_metrics()

    @app.before_request
    def _start_clock() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _measure(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else UNMATCHED_ROUTE
            method = request.method
            status_class = f"{response.status_code // 100}xx"
            metrics.count("http_requests", route=route, method=method, status_class=status_class)
            metrics.observe("http_request_duration", time.perf_counter() - started, route=route, method=method)
        return response


def start_metrics_export() -> None:
    """Start this API process's export (METRICS_EXPORTER): Prometheus text at METRICS_PORT, or
    EMF lines, the last of which are written at exit."""
    export = start_metrics(SERVICE)
    atexit.register(export.stop)
