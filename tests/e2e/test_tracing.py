"""One calendar export is one trace across the whole running system (file exporter on, as in
`make run`): the API's request, the relay's publish, the ical-worker's job and its S3 put, the
todo-api consumer marking the job SUCCESS, the notifier's webhook (which carries `traceparent`),
and the archiver; `taskoverflow trace <correlation id>` prints it."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from taskoverflow_operations.trace import read_spans, select_traces
from tests.support.moto import wait_until
from tests.support.system import RunningSystem
from tests.support.webhook_sink import WebhookSink

BIN = Path(sys.executable).parent
# The file exporter's batches leave every 200 ms, so the test waits for spans, not for seconds.
# No trace is kept at random (make run keeps one in ten): only the request that names its
# X-Correlation-ID is traced, which is how `make trace ID=<that id>` finds it at any ratio.
TRACING = {
    "OTEL_TRACES_EXPORTER": "file",
    "TRACES_DIRECTORY": "traces",
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "OTEL_TRACES_SAMPLER_ARG": "0",
}


SECRET = "whsec_ZTJlLXRyYWNpbmctd2ViaG9vay1rZXktMDAwMDE="


@pytest.fixture(scope="module")
def webhook_sink():
    with WebhookSink(secret=SECRET) as sink:
        yield sink


@pytest.fixture(scope="module")
def system(webhook_sink):
    notifier = {
        "NOTIFIER_WEBHOOK_URLS": f"{webhook_sink.url}/calendars|CalendarReady",
        "NOTIFIER_WEBHOOK_SECRET": SECRET,
        "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
    }
    system = RunningSystem("e2e-tracing", extra_env={**TRACING, **notifier}).start()
    yield system
    codes = system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


def test_a_calendar_export_is_one_trace_across_the_services_and_the_trace_command_prints_it(system, webhook_sink):
    api = f"{system.api_url}/api/v1"
    correlation_id = f"trace-e2e-{uuid.uuid4()}"
    traces = system.directory / "traces"
    created = requests.post(f"{api}/todos", json={"title": "traced", "deadline_at": "2026-12-24T18:00:00"}, timeout=10)
    assert created.status_code == 201
    accepted = requests.post(f"{api}/todos/ical", headers={"X-Correlation-ID": correlation_id}, timeout=10)
    assert accepted.status_code == 202
    status = requests.get(f"{accepted.json()['task_url']}?wait=20", timeout=30).json()
    assert status["task_status"] == "SUCCESS"

    expected = {
        ("todo-api", "SERVER"),
        ("todo-api-relay", "publish CalendarRequested"),
        ("ical-worker", "process CalendarRequested"),
        ("ical-worker", "S3.PutObject"),
        ("ical-worker", "publish CalendarReady"),
        ("todo-api-consumer", "process CalendarReady"),
        ("notifier", "process CalendarReady"),
        ("notifier", "POST webhook"),
    }

    def the_whole_trace():
        found = select_traces(read_spans(traces), correlation_id)
        if len(found) != 1:
            return None
        (spans,) = found.values()
        seen = {(span.service, span.name) for span in spans} | {(span.service, span.kind) for span in spans}
        return spans if expected <= seen else None

    spans = wait_until(the_whole_trace, timeout=30, interval=0.2, message="every service's spans of the export")
    unasked = [span for span in read_spans(traces) if span.name == "POST /api/v1/todos"]
    assert not unasked, "a request that named no correlation id was traced at ratio 0"
    by_id = {span.span_id: span for span in spans}
    (request,) = [span for span in spans if span.kind == "SERVER"]
    assert request.parent_id is None
    worker = next(span for span in spans if span.name == "process CalendarRequested" and span.service == "ical-worker")
    assert worker.parent_id == request.span_id
    consumer = next(span for span in spans if span.service == "todo-api-consumer")
    assert by_id[consumer.parent_id].name == "publish CalendarReady"
    assert by_id[by_id[consumer.parent_id].parent_id] is worker
    assert all(span.error is None for span in spans), [(s.service, s.name, s.error) for s in spans if s.error]
    # The receiver of the webhook may continue the trace: the request carried its context.
    webhook = next(span for span in spans if span.name == "POST webhook")
    (delivery,) = [r for r in webhook_sink.received if json.loads(r.body)["correlationid"] == correlation_id]
    assert delivery.header("traceparent").startswith(f"00-{request.trace_id}-{webhook.span_id}-")

    printed = subprocess.run(
        [str(BIN / "taskoverflow"), "trace", correlation_id, "--directory", str(traces)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={"COLUMNS": "200", "PATH": str(BIN)},
    ).stdout
    assert f"trace {request.trace_id}" in printed
    for service in ("todo-api-relay", "ical-worker", "todo-api-consumer", "notifier"):
        assert service in printed, printed
    as_json = subprocess.run(
        [str(BIN / "taskoverflow"), "trace", request.trace_id, "--json", "--directory", str(traces)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    (tree,) = json.loads(as_json)
    assert tree["spans"][0]["span_id"] == request.span_id
