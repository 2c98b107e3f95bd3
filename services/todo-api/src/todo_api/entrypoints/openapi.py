"""The OpenAPI 3.1 description of the REST API, built from the Flask routes themselves.

Each API view declares its `Operation` (summary, query parameters, body, responses) right under
its route, and `openapi_document(app)` walks Flask's URL map: paths, path parameters and methods
come from the routes, so a route cannot drift from its description (a test holds the other end:
every `/api/v1` route is documented). Every schema is generated from the pydantic model that
validates the request body (`domain.commands`) or shapes the response (`TodoState`,
`response_bodies`), so the document cannot disagree with what the API does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

from flask import Flask
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from todo_api.domain.model import MAX_ID
from todo_api.entrypoints.idempotency_keys import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    IDEMPOTENCY_KEY_PATTERN,
)
from todo_api.entrypoints.response_bodies import Error
from todo_api.views import MAX_PAGE_LIMIT, MAX_PAGE_OFFSET, MAX_WINDOW_DAYS

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
CORRELATION_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
CORRELATION_HEADER = "X-Correlation-ID"
IDEMPOTENCY_KEY_RETENTION_NOTE = "a day by default (`IDEMPOTENCY_KEY_RETENTION_HOURS`)"

_OPERATION_ATTRIBUTE = "openapi_operation"
_RULE_ARGUMENT = re.compile(r"<(?:(?P<converter>[^:<>]+):)?(?P<name>[^<>]+)>")
_SCHEMAS = "#/components/schemas/{model}"

View = TypeVar("View", bound=Callable[..., Any])


# --- operations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One response of an operation; `schema` is a pydantic type, or a JSON schema for other media."""

    description: str
    schema: Any = None
    media_type: str = "application/json"
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class QueryParameter:
    name: str
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True)
class Operation:
    """What a route answers; `responses` maps a status to a `Reply` or a shared response's name."""

    summary: str
    tag: str
    responses: dict[int, Reply | str]
    description: str = ""
    query: tuple[QueryParameter, ...] = ()
    body: type[BaseModel] | None = None
    body_required: bool = True
    # Takes an `Idempotency-Key` (entrypoints/idempotency_keys.py), and so may answer 409 and 422.
    idempotent_with_key: bool = False


PAGE_LIMIT = QueryParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_LIMIT},
    "At most this many todos (a page). Without `limit` and `offset`, every todo.",
)
PAGE_OFFSET = QueryParameter(
    "offset",
    {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_OFFSET, "default": 0},
    "Skip this many todos first (after the filters, oldest first).",
)
COMPLETED_FILTER = QueryParameter("completed", {"type": "boolean"}, "Only completed (true) or open (false) todos.")
WINDOW_FILTER = QueryParameter(
    "window",
    {"type": "integer", "minimum": 0, "maximum": MAX_WINDOW_DAYS},
    "Only todos with a deadline within this many days from now, past deadlines included.",
)


MAX_STATUS_WAIT_SECONDS = 20
STATUS_WAIT = QueryParameter(
    "wait",
    {"type": "number", "minimum": 0, "maximum": MAX_STATUS_WAIT_SECONDS, "default": 0},
    "Long poll: answer as soon as the job is finished, or after this many seconds at the latest "
    "(0, the default, answers at once). A server busy with other long polls may answer at once.",
)
# An unfinished job's answer suggests when to ask again (plain polling); finished jobs carry none.
RETRY_AFTER_SECONDS = 1
RETRY_AFTER_HEADER = {
    "required": False,
    "description": "On PENDING and STARTED only: seconds to wait before polling again.",
    "schema": {"type": "integer", "minimum": 1},
}


def documented(operation: Operation) -> Callable[[View], View]:
    """Attach `operation` to a view; the document picks it up from Flask's URL map."""

    def attach(view: View) -> View:
        setattr(view, _OPERATION_ATTRIBUTE, operation)
        return view

    return attach


def with_responses(view: View, responses: dict[int, Reply | str]) -> View:
    """`view` with more documented responses: for what wraps a view after its route was declared."""
    operation = getattr(view, _OPERATION_ATTRIBUTE, None)
    if operation is not None:
        setattr(view, _OPERATION_ATTRIBUTE, replace(operation, responses={**operation.responses, **responses}))
    return view


def documented_endpoints(app: Flask) -> set[str]:
    """The operation ids of the documented views."""
    return {operation_id(name) for name, view in app.view_functions.items() if hasattr(view, _OPERATION_ATTRIBUTE)}


def operation_id(endpoint: str) -> str:
    """A view's name without its blueprint's: which room a route lives in is no client's concern."""
    return endpoint.rpartition(".")[2]


# --- the document ------------------------------------------------------------------------------


class _Schemas(GenerateJsonSchema):
    # Field titles ("Deadline At") add noise to every property and say nothing the name does not.
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _shared_responses(max_body_bytes: int) -> dict[str, Reply]:
    return {
        "BadRequest": Reply("The request is invalid: the error says what to fix.", Error),
        "NotFound": Reply("No such resource (or the path does not match a route).", Error),
        "PayloadTooLarge": Reply(f"The body is larger than {max_body_bytes} bytes.", Error),
        "MethodNotAllowed": Reply(
            "Any method a path does not list. `Allow` names the ones it does.",
            Error,
            headers={"Allow": {"required": True, "schema": {"type": "string"}}},
        ),
        "Unauthorized": Reply(
            "No valid bearer token (when the API requires one): none was sent, or it is badly signed, "
            "expired, or from another issuer or audience. `WWW-Authenticate` says which.",
            Error,
            headers={"WWW-Authenticate": {"required": True, "schema": {"type": "string", "pattern": "^Bearer"}}},
        ),
        "UnsupportedMediaType": Reply(
            "The body is not `application/json`; or a browser's write (it sends `Origin` or "
            "`Sec-Fetch-Site`) has no JSON body and no header such as `X-Requested-With` or `Idempotency-Key`.",
            Error,
        ),
        "IdempotencyKeyInUse": Reply(
            "Another request with this `Idempotency-Key` was being handled at the same moment: send this one again.",
            Error,
        ),
        "IdempotencyKeyReused": Reply(
            "This `Idempotency-Key` was used before for another request (method, path or body).", Error
        ),
        "TooManyRequests": Reply(
            "The client (the signed-in user, else the client address) has used its share of these "
            "requests for now: try again after `Retry-After`.",
            Error,
            headers={"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1}}},
        ),
        "Unavailable": Reply(
            "The database or the calendar storage is unreachable for now: try again after `Retry-After`.",
            Error,
            headers={"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 1}}},
        ),
    }


class _DocumentBuilder:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def schema_of(self, type_: Any, mode: Literal["validation", "serialization"]) -> dict[str, Any]:
        """A JSON schema for `type_`; models become `$ref`s into components/schemas."""
        if isinstance(type_, dict):
            return type_
        generated = TypeAdapter(type_).json_schema(ref_template=_SCHEMAS, schema_generator=_Schemas, mode=mode)
        self.schemas.update(generated.pop("$defs", {}))
        if isinstance(type_, type) and issubclass(type_, BaseModel):
            self.schemas[type_.__name__] = generated
            return {"$ref": _SCHEMAS.format(model=type_.__name__)}
        return generated

    def response(self, reply: Reply) -> dict[str, Any]:
        document: dict[str, Any] = {
            "description": reply.description,
            "headers": {
                CORRELATION_HEADER: {"$ref": "#/components/headers/CorrelationId"},
                **reply.headers,
            },
        }
        if reply.schema is not None:
            document["content"] = {reply.media_type: {"schema": self.schema_of(reply.schema, "serialization")}}
        return document

    def operation(self, endpoint: str, operation: Operation, path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
        document: dict[str, Any] = {
            "operationId": endpoint,
            "summary": operation.summary,
            "tags": [operation.tag],
            "parameters": [
                *path_parameters,
                *(
                    {"name": q.name, "in": "query", "schema": q.schema, "description": q.description}
                    for q in operation.query
                ),
                {"$ref": "#/components/parameters/CorrelationId"},
            ],
            "responses": {
                str(status): (
                    {"$ref": f"#/components/responses/{reply}"} if isinstance(reply, str) else self.response(reply)
                )
                for status, reply in sorted(operation.responses.items())
            },
        }
        if operation.description:
            document["description"] = operation.description
        if operation.idempotent_with_key:
            document["parameters"].insert(-1, {"$ref": "#/components/parameters/IdempotencyKey"})
            document["responses"].setdefault("400", {"$ref": "#/components/responses/BadRequest"})
            document["responses"]["409"] = {"$ref": "#/components/responses/IdempotencyKeyInUse"}
            document["responses"]["422"] = {"$ref": "#/components/responses/IdempotencyKeyReused"}
            document["responses"] = dict(sorted(document["responses"].items()))
        if operation.body is not None:
            document["responses"].setdefault("415", {"$ref": "#/components/responses/UnsupportedMediaType"})
            document["responses"] = dict(sorted(document["responses"].items()))
            document["requestBody"] = {
                "required": operation.body_required,
                "content": {"application/json": {"schema": self.schema_of(operation.body, "validation")}},
            }
        return document


# Flask converters as JSON schemas; a value that does not fit the converter answers 404.
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "default": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
}


def _path_and_parameters(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters = [
        {
            "name": match["name"],
            "in": "path",
            "required": True,
            "schema": _CONVERTER_SCHEMAS[match["converter"] or "default"],
        }
        for match in _RULE_ARGUMENT.finditer(rule)
    ]
    return _RULE_ARGUMENT.sub(lambda match: "{" + match["name"] + "}", rule), parameters


BEARER_SCHEME = "bearer"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def openapi_document(app: Flask, needs_token: Callable[[str], bool], auth_enabled: bool) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every documented route of `app`.

    Routes for which `needs_token(path)` holds declare the bearer scheme and their 401; while
    authentication is off (`auth_enabled` false) the token is optional there, as the API then
    takes any call.
    """
    max_body_bytes = app.config["MAX_CONTENT_LENGTH"]
    builder = _DocumentBuilder()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        operation = getattr(app.view_functions[rule.endpoint], _OPERATION_ATTRIBUTE, None)
        if operation is None:
            continue
        path, path_parameters = _path_and_parameters(rule.rule)
        # `[]`: a public route; `{}` in a list: no authentication is one option (while auth is off).
        security: list[dict[str, list[str]]] = []
        if needs_token(rule.rule):
            operation = replace(operation, responses={**operation.responses, 401: "Unauthorized"})
            security = [{BEARER_SCHEME: []}] if auth_enabled else [{}, {BEARER_SCHEME: []}]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            document = builder.operation(operation_id(rule.endpoint), operation, path_parameters)
            document["security"] = security
            if method in _WRITE_METHODS:
                # Any write may carry a body (413 past the limit) and come from a browser (415).
                document["responses"].setdefault("413", {"$ref": "#/components/responses/PayloadTooLarge"})
                document["responses"].setdefault("415", {"$ref": "#/components/responses/UnsupportedMediaType"})
                document["responses"] = dict(sorted(document["responses"].items()))
            paths.setdefault(path, {})[method.lower()] = document
    responses = {name: builder.response(reply) for name, reply in _shared_responses(max_body_bytes).items()}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "TaskOverflow API",
            "version": API_VERSION,
            "description": (
                "Todos with deadlines, and their export as an iCalendar file by an asynchronous job.\n\n"
                'Every error is `{"error": "..."}`. A method that a path does not list answers 405 '
                "(`#/components/responses/MethodNotAllowed`); a path that matches no route answers 404. "
                "While the database or the calendar storage is unreachable, a route answers 503 with "
                "`Retry-After` (`#/components/responses/Unavailable`). "
                "Bodies must be `application/json` (415 otherwise); a browser's write must send a JSON body "
                "or a header such as `X-Requested-With` (415 otherwise), which another site cannot without "
                "asking first. "
                f"Bodies over {max_body_bytes} bytes answer 413. No text in a body may hold a NUL character "
                "or an unpaired surrogate escape such as `\\ud800` (400): no database stores them.\n\n"
                f"Send `{CORRELATION_HEADER}` to follow a request through the events it causes; every "
                "response carries it."
            ),
        },
        "tags": [
            {"name": "todos", "description": "Create, read, update and delete todos."},
            {"name": "calendar", "description": "Export the todos with a deadline as an iCalendar file."},
            {"name": "service", "description": "Health and this description."},
        ],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(builder.schemas.items())),
            "responses": responses,
            "securitySchemes": {
                BEARER_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "A JWT from the deployment's OIDC issuer (Cognito on AWS), RS256 or ES256, for this "
                        "API's audience (`aud`, or `client_id` in Cognito's access tokens). Everything a "
                        "token creates belongs to its `sub`; another user's todo or job answers 404."
                    ),
                }
            },
            "parameters": {
                "IdempotencyKey": {
                    "name": IDEMPOTENCY_KEY_HEADER,
                    "in": "header",
                    "required": False,
                    "description": (
                        "Your id for this change, new for each change: send the request again with the same key "
                        "(after a 503, a timeout or no answer) and it is made once, the repeat answered as the "
                        f"first time. Keys are yours alone and kept for {IDEMPOTENCY_KEY_RETENTION_NOTE}."
                    ),
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
                        "pattern": IDEMPOTENCY_KEY_PATTERN,
                    },
                },
                "CorrelationId": {
                    "name": CORRELATION_HEADER,
                    "in": "header",
                    "required": False,
                    "description": (
                        f"Your id for this request, `{CORRELATION_ID_PATTERN}`; any other value is not "
                        "refused but replaced by a new id."
                    ),
                    "schema": {"type": "string"},
                },
            },
            "headers": {
                "CorrelationId": {
                    "description": "The request's correlation id: yours if it fit the pattern, else a new one.",
                    "required": True,
                    "schema": {"type": "string", "pattern": CORRELATION_ID_PATTERN},
                }
            },
        },
    }
