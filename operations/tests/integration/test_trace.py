"""`taskoverflow trace`: spans as the services' file exporter writes them, found by correlation or
trace id, printed as one tree per trace with services and durations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from rich.console import Console

from taskoverflow_operations.cli import main
from taskoverflow_operations.trace import build_tree, read_spans, render, select_traces
from taskoverflow_shared.tracing import CORRELATION_ID, JsonLinesSpanExporter

SECOND = 1_000_000_000
T0 = 1_764_000_000 * SECOND


def _tracer(directory: Path, service: str) -> trace.Tracer:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(directory / f"{service}.jsonl")))
    return provider.get_tracer("test")


@pytest.fixture
def exported(tmp_path) -> dict[str, str]:
    """One calendar export across four services, and an unrelated request; returns their ids."""
    api, relay, worker, notifier = (
        _tracer(tmp_path, service) for service in ("todo-api", "todo-api-relay", "ical-worker", "notifier")
    )
    request = api.start_span("POST /api/v1/todos/ical", kind=SpanKind.SERVER, start_time=T0)
    request.set_attribute(CORRELATION_ID, "corr-export")
    in_request = trace.set_span_in_context(request)
    relay.start_span("publish CalendarRequested", context=in_request, start_time=T0 + SECOND // 100).end(
        T0 + SECOND // 50
    )
    process = worker.start_span(
        "process CalendarRequested",
        context=in_request,
        start_time=T0 + SECOND // 20,
        attributes={CORRELATION_ID: "corr-export"},
    )
    webhook = notifier.start_span(
        "process CalendarReady", context=trace.set_span_in_context(process), start_time=T0 + SECOND // 10
    )
    webhook.set_status(Status(StatusCode.ERROR, "HTTP 503"))
    webhook.end(T0 + SECOND // 5)
    process.end(T0 + SECOND // 4)
    request.end(T0 + SECOND // 200)
    other = api.start_span("GET /api/v1/todos", start_time=T0, attributes={CORRELATION_ID: "corr-other"})
    other.end(T0 + SECOND // 1000)
    return {
        "trace_id": format(request.get_span_context().trace_id, "032x"),
        "other_trace_id": format(other.get_span_context().trace_id, "032x"),
    }


def test_a_correlation_id_finds_the_whole_trace_across_services(tmp_path, exported):
    traces = select_traces(read_spans(tmp_path), "corr-export")

    assert list(traces) == [exported["trace_id"]]
    assert {span.service for span in traces[exported["trace_id"]]} == {
        "todo-api",
        "todo-api-relay",
        "ical-worker",
        "notifier",
    }


def test_a_trace_id_finds_its_trace_with_or_without_the_0x(tmp_path, exported):
    assert list(select_traces(read_spans(tmp_path), exported["other_trace_id"])) == [exported["other_trace_id"]]
    assert list(select_traces(read_spans(tmp_path), "0x" + exported["other_trace_id"])) == [exported["other_trace_id"]]
    assert select_traces(read_spans(tmp_path), "f" * 32) == {}


def test_children_hang_under_their_parents_in_the_order_they_started(tmp_path, exported):
    (root,) = build_tree(select_traces(read_spans(tmp_path), "corr-export")[exported["trace_id"]])

    assert root.name == "POST /api/v1/todos/ical"
    assert [child.name for child in root.children] == ["publish CalendarRequested", "process CalendarRequested"]
    (grandchild,) = root.children[1].children
    assert (grandchild.name, grandchild.service, grandchild.error) == ("process CalendarReady", "notifier", "HTTP 503")
    assert root.children[1].duration_ms == pytest.approx(200.0)


def test_a_span_whose_parent_was_never_exported_is_shown_as_a_root(tmp_path, exported):
    spans = select_traces(read_spans(tmp_path), "corr-export")[exported["trace_id"]]
    without_request = [span for span in spans if span.name != "POST /api/v1/todos/ical"]

    assert [root.name for root in build_tree(without_request)] == [
        "publish CalendarRequested",
        "process CalendarRequested",
    ]


def test_the_tree_shows_each_span_with_service_duration_and_offset(tmp_path, exported):
    spans = select_traces(read_spans(tmp_path), "corr-export")[exported["trace_id"]]
    console = Console(record=True, width=160, color_system=None)
    console.print(render(exported["trace_id"], build_tree(spans)))
    text = console.export_text()

    assert f"trace {exported['trace_id']}  4 spans · 4 services · 250.0 ms" in text
    assert "process CalendarRequested  ical-worker  200.0 ms  +50.0 ms" in text
    assert "process CalendarReady  notifier  100.0 ms  +100.0 ms  ✗ HTTP 503" in text
    lines = text.splitlines()
    depth = {
        name: next(line.index(name) for line in lines if name in line)
        for name in ("POST", "process CalendarRequested", "process CalendarReady")
    }
    assert depth["POST"] < depth["process CalendarRequested"] < depth["process CalendarReady"]


def test_a_line_cut_short_is_skipped(tmp_path, exported):
    with (tmp_path / "notifier.jsonl").open("a") as file:
        file.write('{"name": "cut sho')

    assert len(list(read_spans(tmp_path))) == 5


def test_the_command_prints_json_and_exits_1_when_nothing_matches(tmp_path, exported, capsys):
    assert main(["trace", "corr-export", "--json", "--directory", str(tmp_path)]) == 0
    (printed,) = json.loads(capsys.readouterr().out)
    assert printed["trace_id"] == exported["trace_id"]
    assert printed["spans"][0]["children"][1]["children"][0]["service"] == "notifier"

    assert main(["trace", "no-such-request", "--directory", str(tmp_path)]) == 1
    assert "no span" in capsys.readouterr().err
