"""The API's request metrics, as its METRICS_PORT endpoint serves them, and none on its public port."""

import pytest

from taskoverflow_shared.metrics import process_metrics
from tests.support.prometheus import Samples, samples_of
from todo_api.adapters.database import upgrade_to_latest
from todo_api.bootstrap import bootstrap
from todo_api.entrypoints.flask_app import create_app

from ..conftest import FakeCalendarFiles, settings_for


@pytest.fixture
def client(tmp_path):
    api = bootstrap(settings_for(f"sqlite:///{tmp_path / 'todos.sqlite3'}"), calendar_files=FakeCalendarFiles())
    upgrade_to_latest(api.engine)
    yield create_app(api).test_client()
    api.engine.dispose()


def scrape(client) -> Samples:
    """What Prometheus reads at METRICS_PORT: the process's metrics (shared's start_metrics serves them)."""
    return samples_of(process_metrics().prometheus_text().decode())


def requests_counted(samples, route: str, method: str, status_class: str) -> float:
    labels = frozenset({("route", route), ("method", method), ("status_class", status_class)})
    return samples.get(("taskoverflow_http_requests_total", labels), 0.0)


def test_requests_are_counted_by_route_template_method_and_status_class_and_timed(client):
    before = scrape(client)

    assert client.post("/api/v1/todos", json={"title": "Buy milk"}).status_code == 201
    assert client.post("/api/v1/todos", json={"title": ""}).status_code == 400
    for todo_id in (404_001, 404_002, 404_003):
        assert client.get(f"/api/v1/todos/{todo_id}").status_code == 404
    assert client.get("/no/such/page").status_code == 404
    after = scrape(client)

    def added(route, method, status_class):
        return requests_counted(after, route, method, status_class) - requests_counted(
            before, route, method, status_class
        )

    assert added("/api/v1/todos", "POST", "2xx") == 1
    assert added("/api/v1/todos", "POST", "4xx") == 1
    # The rule, not the path: three ids are one metric.
    assert added("/api/v1/todos/<int:todo_id>", "GET", "4xx") == 3
    assert added("unmatched", "GET", "4xx") == 1
    durations = frozenset({("route", "/api/v1/todos"), ("method", "POST")})
    assert (
        after[("taskoverflow_http_request_duration_seconds_count", durations)]
        - before.get(("taskoverflow_http_request_duration_seconds_count", durations), 0.0)
        == 2
    )


def test_the_public_port_serves_no_metrics(client):
    assert client.get("/metrics").status_code == 404
