"""The API's request metrics, scraped from GET /metrics as Prometheus would."""

import pytest

from taskoverflow_shared.metrics import EmfWriter, PrometheusSink, process_metrics
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
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return samples_of(response.get_data(as_text=True))


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
    # The scrape before this one is counted too, under its own route.
    assert added("/metrics", "GET", "2xx") == 1


def test_where_metrics_leave_as_emf_lines_the_endpoint_answers_404_with_an_error(client):
    metrics = process_metrics()
    metrics.sink = EmfWriter(metrics.catalog.namespace, write=lambda line: None)
    try:
        response = client.get("/metrics")
    finally:
        metrics.sink = PrometheusSink()

    assert response.status_code == 404
    assert "EMF" in response.get_json()["error"]
