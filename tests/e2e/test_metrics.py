"""Every process's metrics with the whole system up: each endpoint answers, and a calendar export
moves the counters of every process it passes through."""

from __future__ import annotations

import requests

from tests.support.moto import wait_until
from tests.support.prometheus import Samples, samples_of
from tests.support.system import RunningSystem


def scrape(url: str) -> Samples:
    """(sample name, labels but the service) -> value."""
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, (url, response.status_code)
    return samples_of(response.text, without=("service",))


def endpoints(system: RunningSystem) -> dict[str, str]:
    """Each process's METRICS_PORT endpoint: the API's too, which its public port does not serve."""
    return {name: f"http://127.0.0.1:{port}/metrics" for name, port in system.metrics_ports.items()}


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def consumed(samples, event_type: str) -> float:
    return value(samples, "taskoverflow_events_consumed_total", event_type=event_type, outcome="handled")


def test_every_process_serves_metrics_and_an_export_moves_each_one_it_passes(running_system):
    system = running_system
    urls = endpoints(system)
    workers = {"relay", "api-consumer", "ical-worker", "ical-feed-worker", "notifier", "event-archiver"}
    assert set(urls) == {"api", *workers}
    assert requests.get(f"{system.api_url}/metrics", timeout=10).status_code == 404
    before = {name: scrape(url) for name, url in urls.items()}

    api = f"{system.api_url}/api/v1"
    created = requests.post(f"{api}/todos", json={"title": "Metrics", "deadline_at": "2030-01-01T09:00:00"}, timeout=10)
    assert created.status_code == 201
    task = requests.post(f"{api}/todos/ical", timeout=10).json()
    status = requests.get(f"{task['task_url']}?wait=20", timeout=30).json()
    assert status["task_status"] == "SUCCESS"
    # Ten requests on the API's threads: one scrape counts all ten.
    for todo_id in range(10):
        assert requests.get(f"{api}/todos/{900_000 + todo_id}", timeout=10).status_code == 404

    expectations = {
        "relay": lambda s: (
            value(s, "taskoverflow_outbox_events_published_total")
            >= value(before["relay"], "taskoverflow_outbox_events_published_total") + 2
        ),
        "ical-worker": lambda s: (
            consumed(s, "CalendarRequested") > consumed(before["ical-worker"], "CalendarRequested")
            and value(s, "taskoverflow_calendar_size_bytes_count")
            > value(before["ical-worker"], "taskoverflow_calendar_size_bytes_count")
        ),
        "api-consumer": lambda s: (
            value(s, "taskoverflow_calendar_jobs_finished_total", outcome="SUCCESS")
            > value(before["api-consumer"], "taskoverflow_calendar_jobs_finished_total", outcome="SUCCESS")
        ),
        "notifier": lambda s: consumed(s, "CalendarReady") > consumed(before["notifier"], "CalendarReady"),
        "ical-feed-worker": lambda s: consumed(s, "TodoChanged") > consumed(before["ical-feed-worker"], "TodoChanged"),
        "event-archiver": lambda s: (
            consumed(s, "CalendarReady") > consumed(before["event-archiver"], "CalendarReady")
            and consumed(s, "TodoChanged") > consumed(before["event-archiver"], "TodoChanged")
        ),
    }
    for process, check in expectations.items():
        wait_until(
            lambda url=urls[process], check=check: check(scrape(url)),
            timeout=30,
            interval=0.2,
            message=f"{process}'s metrics to count the export",
        )

    # What each process answered last, beside its log (artifacts/<run>/<process>.metrics.txt).
    for process, url in urls.items():
        (system.directory / f"{process}.metrics.txt").write_text(requests.get(url, timeout=10).text)
    relay = scrape(urls["relay"])
    assert ("taskoverflow_outbox_lag_seconds", frozenset()) in relay
    api_after = scrape(urls["api"])
    unknown_todo = {"route": "/api/v1/todos/<int:todo_id>", "method": "GET", "status_class": "4xx"}
    assert (
        value(api_after, "taskoverflow_http_requests_total", **unknown_todo)
        - value(before["api"], "taskoverflow_http_requests_total", **unknown_todo)
        == 10
    )
    export = {"route": "/api/v1/todos/ical", "method": "POST", "status_class": "2xx"}
    assert value(api_after, "taskoverflow_http_requests_total", **export) > value(
        before["api"], "taskoverflow_http_requests_total", **export
    )
