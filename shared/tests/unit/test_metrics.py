"""The metrics registry (custom_metrics.json), the Prometheus sink and the CloudWatch EMF writer."""

import json

import pytest
import requests

from taskoverflow_shared.events import EVENT_TYPES
from taskoverflow_shared.metrics import (
    EMF_MAX_VALUES,
    EmfWriter,
    Metrics,
    MetricsSettings,
    PrometheusSink,
    load_catalog,
    start_metrics,
)
from taskoverflow_shared.settings import SettingsError
from tests.support.moto import free_port

CATALOG = load_catalog()


def emf_metrics(lines: list[str]) -> list[dict]:
    return [json.loads(line) for line in lines]


def test_every_declared_metric_has_a_distinct_cloudwatch_and_prometheus_name():
    specs = CATALOG.specs.values()

    assert len({spec.name for spec in specs}) == len({spec.prometheus_name for spec in specs}) == len(CATALOG.specs)
    assert CATALOG["event_handling_duration"].prometheus_name == "taskoverflow_event_handling_duration_seconds"
    assert CATALOG["calendar_size"].prometheus_name == "taskoverflow_calendar_size_bytes"
    assert CATALOG["events_consumed"].label_names == ("service", "event_type", "outcome")


def test_a_dimension_outside_its_declared_values_is_recorded_as_other():
    metrics = Metrics("notifier")

    metrics.count("calendar_jobs_finished", outcome="MAYBE")
    metrics.count("events_consumed", event_type="TodoChanged", outcome="exploded")

    assert metrics.value("calendar_jobs_finished", outcome="other") == 1
    assert metrics.value("events_consumed", event_type="TodoChanged", outcome="other") == 1


def test_a_missing_or_unknown_dimension_or_the_wrong_kind_is_refused():
    metrics = Metrics("notifier")

    with pytest.raises(ValueError, match="takes dimensions"):
        metrics.count("events_consumed", outcome="handled")
    with pytest.raises(ValueError, match="takes dimensions"):
        metrics.count("calendar_jobs_finished", outcome="SUCCESS", colour="blue")
    with pytest.raises(ValueError, match="is a counter"):
        metrics.observe("calendar_jobs_finished", 1.0, outcome="SUCCESS")


def test_prometheus_text_shows_counters_and_distributions_with_the_service_label():
    metrics = Metrics("ical-worker")

    metrics.count("events_consumed", event_type="CalendarRequested", outcome="handled")
    metrics.count("events_consumed", event_type="CalendarRequested", outcome="handled")
    metrics.observe("calendar_render_duration", 0.02)
    text = metrics.prometheus_text().decode()

    assert (
        'taskoverflow_events_consumed_total{event_type="CalendarRequested",outcome="handled",service="ical-worker"} 2.0'
        in text
    )
    assert 'taskoverflow_calendar_render_duration_seconds_bucket{le="0.05"} 1.0' in text
    # Only what this process recorded: a worker does not show the API's metrics at zero.
    assert "taskoverflow_http_requests" not in text


def test_a_tracked_gauge_is_read_at_each_scrape_and_an_unreadable_one_is_left_out():
    readings = iter([3.5])
    metrics = Metrics("todo-api")
    metrics.track("outbox_lag", lambda: next(readings))

    assert "taskoverflow_outbox_lag_seconds 3.5" in metrics.prometheus_text().decode()
    assert "\ntaskoverflow_outbox_lag_seconds " not in metrics.prometheus_text().decode()  # the read raised


def test_emf_sums_each_counter_per_dimension_values_into_one_line_per_period():
    lines: list[str] = []
    writer = EmfWriter("TaskOverflow", write=lines.append, clock=lambda: 1_700_000_000.5)
    metrics = Metrics("notifier", sink=writer)

    for _ in range(500):
        metrics.count("events_consumed", event_type="TodoChanged", outcome="handled")
    metrics.count("events_consumed", event_type="TodoChanged", outcome="failed")

    assert writer.flush() == 2
    handled, failed = emf_metrics(lines)
    assert handled == {
        "_aws": {
            "Timestamp": 1_700_000_000_500,
            "CloudWatchMetrics": [
                {
                    "Namespace": "TaskOverflow",
                    "Dimensions": [["Service", "EventType", "Outcome"], ["Service", "Outcome"]],
                    "Metrics": [{"Name": "EventsConsumed", "Unit": "Count"}],
                }
            ],
        },
        "Service": "notifier",
        "EventType": "TodoChanged",
        "Outcome": "handled",
        "EventsConsumed": 500.0,
    }
    assert (failed["Outcome"], failed["EventsConsumed"]) == ("failed", 1.0)
    assert writer.flush() == 0  # nothing recorded since: nothing written


def test_emf_keeps_every_sample_of_a_distribution_at_most_100_a_line():
    lines: list[str] = []
    writer = EmfWriter("TaskOverflow", write=lines.append)
    metrics = Metrics("todo-api", sink=writer)

    for index in range(250):
        metrics.observe("http_request_duration", index / 1000, route="/api/v1/todos", method="GET")

    assert writer.flush() == 3
    documents = emf_metrics(lines)
    assert [len(document["HttpRequestDuration"]) for document in documents] == [EMF_MAX_VALUES, EMF_MAX_VALUES, 50]
    assert sorted(value for document in documents for value in document["HttpRequestDuration"]) == [
        index / 1000 for index in range(250)
    ]
    directive = documents[0]["_aws"]["CloudWatchMetrics"][0]
    # The empty set publishes the route-independent metric the dashboard's latency widget shows.
    assert directive["Dimensions"] == [["Route", "Method"], []]
    assert directive["Metrics"] == [{"Name": "HttpRequestDuration", "Unit": "Seconds"}]


def test_emf_reads_a_tracked_gauge_once_per_flush():
    lines: list[str] = []
    writer = EmfWriter("TaskOverflow", write=lines.append)
    readings = iter([12.0])
    Metrics("todo-api", sink=writer).track("outbox_lag", lambda: next(readings))

    assert writer.flush() == 1
    assert writer.flush() == 0  # the second read raised: left out
    [lag] = emf_metrics(lines)
    assert (lag["OutboxLagSeconds"], lag["_aws"]["CloudWatchMetrics"][0]["Dimensions"]) == (12.0, [[]])


def test_a_worker_serves_prometheus_text_on_its_metrics_port():
    port = free_port()
    export = start_metrics("example", MetricsSettings.from_environment({"METRICS_PORT": str(port)}))
    try:
        export.metrics.count("events_consumed", event_type="TodoChanged", outcome="dead_lettered")
        scrape = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    finally:
        export.stop()

    assert scrape.status_code == 200
    assert 'outcome="dead_lettered",service="example"} 1.0' in scrape.text


def test_the_emf_export_writes_what_is_left_when_stopped(capsys):
    export = start_metrics("example", MetricsSettings.from_environment({"METRICS_EXPORTER": "emf"}))
    export.metrics.count("outbox_events_published", 7)
    export.stop()

    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["OutboxEventsPublished"] == 7.0
    export.metrics.sink = PrometheusSink()  # the process's other tests record in memory again


def test_an_unknown_exporter_is_refused_naming_the_variable():
    with pytest.raises(SettingsError, match="METRICS_EXPORTER"):
        MetricsSettings.from_environment({"METRICS_EXPORTER": "statsd"})


def test_event_types_the_consumer_labels_are_those_events_py_defines():
    # The consumer bounds EventType by events.py (custom_metrics.json lists none), so a new event
    # type is measured without touching the registry.
    assert CATALOG["events_consumed"].dimensions["EventType"] == ()
    assert set(EVENT_TYPES) == {"TodoChanged", "CalendarRequested", "CalendarReady", "CalendarFailed"}
