"""The served OpenAPI document, its interactive docs, and the web page's files."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from taskoverflow_shared.asyncapi import published_asyncapi_document
from todo_api.domain.model import DESCRIPTION_MAX_LENGTH, TITLE_MAX_LENGTH
from todo_api.entrypoints.flask_app import create_app
from todo_api.entrypoints.openapi import documented_endpoints
from todo_api.views import MAX_WINDOW_DAYS

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

HTTP_METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH"}


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def operation(document: dict, method: str, path: str) -> dict:
    return document["paths"][path][method]


def schema(document: dict, name: str) -> dict:
    return document["components"]["schemas"][name]


def test_the_served_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()


def test_every_api_route_is_documented_and_every_documented_operation_is_a_route(todo_api, document):
    app = create_app(todo_api)
    routes = {
        (method.lower(), re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and not rule.rule.startswith("/api/v1/docs")
        for method in rule.methods & HTTP_METHODS
    }
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == routes
    assert {op["operationId"] for item in document["paths"].values() for op in item.values()} == (
        documented_endpoints(app)
    )


def test_bodies_are_described_with_the_domains_limits(document):
    new_todo = schema(document, "NewTodo")
    assert new_todo["additionalProperties"] is False
    assert new_todo["required"] == ["title"]
    assert new_todo["properties"]["title"]["maxLength"] == TITLE_MAX_LENGTH
    assert new_todo["properties"]["description"]["anyOf"][0]["maxLength"] == DESCRIPTION_MAX_LENGTH
    ascii_deadline = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"
    assert new_todo["properties"]["deadline_at"]["anyOf"][0]["pattern"] == ascii_deadline
    changes = schema(document, "TodoChanges")
    assert changes["additionalProperties"] is False
    assert changes["minProperties"] == 1
    assert "required" not in changes
    assert changes["properties"]["title"]["type"] == "string"  # never null in a change
    assert schema(document, "CalendarRequest")["additionalProperties"] is False
    window = next(p for p in operation(document, "get", "/api/v1/todos")["parameters"] if p.get("name") == "window")
    assert window["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_WINDOW_DAYS}


@pytest.mark.parametrize(
    ("method", "path", "statuses"),
    [
        ("get", "/api/v1/health", {"200", "503"}),
        ("get", "/api/v1/todos", {"200", "400", "401"}),
        ("post", "/api/v1/todos", {"201", "400", "401", "409", "413", "415", "422", "429"}),
        ("get", "/api/v1/todos/{todo_id}", {"200", "401", "404"}),
        ("put", "/api/v1/todos/{todo_id}", {"200", "400", "401", "404", "409", "413", "415", "422", "429"}),
        ("delete", "/api/v1/todos/{todo_id}", {"200", "400", "401", "404", "409", "413", "415", "422", "429"}),
        ("post", "/api/v1/todos/ical", {"202", "400", "401", "409", "413", "415", "422", "429"}),
        ("get", "/api/v1/todos/ical/{task_id}/status", {"200", "400", "401", "404"}),
        ("get", "/api/v1/todos/ical/{task_id}/result", {"200", "401", "404"}),
        ("get", "/api/v1/auth-config", {"200"}),
    ],
)
def test_each_operation_documents_the_statuses_it_answers(document, method, path, statuses):
    assert set(operation(document, method, path)["responses"]) == statuses


def test_every_write_takes_an_idempotency_key_and_no_read_does(document):
    takes_key = {
        (method, path)
        for path, operations in document["paths"].items()
        for method, described in operations.items()
        if {"$ref": "#/components/parameters/IdempotencyKey"} in described["parameters"]
    }
    assert takes_key == {
        ("post", "/api/v1/todos"),
        ("put", "/api/v1/todos/{todo_id}"),
        ("delete", "/api/v1/todos/{todo_id}"),
        ("post", "/api/v1/todos/ical"),
    }
    assert document["components"]["parameters"]["IdempotencyKey"]["in"] == "header"


def test_errors_are_documented_as_error_bodies_and_405_with_allow(document):
    responses = document["components"]["responses"]
    for name in (
        "BadRequest",
        "NotFound",
        "PayloadTooLarge",
        "MethodNotAllowed",
        "UnsupportedMediaType",
        "TooManyRequests",
    ):
        assert responses[name]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert responses["MethodNotAllowed"]["headers"]["Allow"]["required"] is True
    assert schema(document, "Error")["required"] == ["error"]


def test_the_calendar_is_documented_as_text_calendar_and_the_job_as_202(document):
    result = operation(document, "get", "/api/v1/todos/ical/{task_id}/result")["responses"]["200"]
    assert set(result["content"]) == {"text/calendar"}
    accepted = operation(document, "post", "/api/v1/todos/ical")
    assert accepted["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CalendarJobAccepted"
    }
    assert accepted["requestBody"]["required"] is False


def test_the_docs_are_swagger_ui_served_from_this_server(client):
    assert client.get("/api/v1/docs").status_code == 308
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/openapi.json" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "the docs must not load from a CDN"
    bundle = client.get("/api/v1/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.mimetype in ("text/javascript", "application/javascript")


def test_the_web_page_and_its_files_are_served_with_a_strict_content_security_policy(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assets = re.findall(r"""(?:src|href)="(/static/[^"]+)\"""", html)
    assert sorted(assets) == ["/static/app.css", "/static/app.js", "/static/favicon.svg"]
    for asset in assets:
        assert client.get(asset).status_code == 200
    for label in ("Title", "Description", "Deadline"):
        assert f">{label}</label>" in html
    assert client.get("/static/../pyproject.toml").status_code == 404


def test_the_status_documents_its_long_poll_and_retry_after(document):
    status = operation(document, "get", "/api/v1/todos/ical/{task_id}/status")
    wait = next(p for p in status["parameters"] if p.get("name") == "wait")
    assert wait["in"] == "query"
    assert wait["schema"] == {"type": "number", "minimum": 0, "maximum": 20, "default": 0}
    retry_after = status["responses"]["200"]["headers"]["Retry-After"]
    assert retry_after["required"] is False
    assert retry_after["schema"] == {"type": "integer", "minimum": 1}


def test_the_events_asyncapi_document_is_served_beside_it(client, document):
    response = client.get("/api/v1/asyncapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json["asyncapi"] == "3.0.0"
    assert response.json == published_asyncapi_document()
    assert "/api/v1/asyncapi.json" in document["paths"]
