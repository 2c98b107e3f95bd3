"""Event envelope and event schemas: the message contract, defined once for every service.

Every event is a CloudEvent 1.0 in the JSON event format (what SNS, SQS, the archive and webhooks
carry): the context attributes `specversion`, `id`, `source`, `type`, `time`, `subject`,
`datacontenttype` (always `application/json`) and `dataschema` (the `$id` of the event's JSON
Schema), the extension attributes `correlationid` and `dataversion` (and `traceparent` /
`tracestate` when a trace context travels along), and the event's `data`.

Schemas are versioned `MAJOR.MINOR` (`dataversion`): a minor version only adds optional fields (so
consumers ignore fields they do not know), a new major version is a breaking change that older
consumers refuse (their message goes to the DLQ). Attributes this code does not know are kept, so
a replayed or forwarded event leaves as it arrived.

Through version 1.1 of the shared library (removed in 1.2), input may still carry the envelope's
names before CloudEvents: `correlation_id` (now `correlationid`) and `schema_version` (now
`dataversion`).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

SUPPORTED_MAJOR_VERSION = 1
DATA_CONTENT_TYPE: Final = "application/json"
_DERIVED_EVENT_IDS = uuid.UUID("6f1c2a52-2f5e-4d8e-9a43-0c1b7d6e5a10")
# CloudEvents 1.0: attribute names are lowercase ASCII letters and digits only.
_ATTRIBUTE_NAME = re.compile(r"^[a-z0-9]+$")
# Accepted on input for one minor version of the shared library (through 1.1): old name -> new name.
LEGACY_ATTRIBUTE_NAMES = {"correlation_id": "correlationid", "schema_version": "dataversion"}

NonEmptyStr = Annotated[str, Field(min_length=1)]


def schema_uri(event_type: str, major_version: int | str) -> str:
    """The `$id` of an event's JSON Schema, which its envelopes carry as `dataschema`."""
    return f"urn:taskoverflow:events:{event_type}:v{major_version}"


class UnprocessableEvent(Exception):
    """A message that can never be handled (bad JSON, bad schema, unknown type or version).

    Retrying cannot help, so consumers move it to the dead-letter queue with `reason`.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Envelope(BaseModel):
    """A CloudEvent 1.0 in the JSON event format: the attributes every event carries around `data`.

    Extension attributes: `correlationid` (one id for everything a request caused), `dataversion`
    (the `MAJOR.MINOR` version of the data's schema), and `traceparent` / `tracestate` (W3C trace
    context) when present. Unknown extension attributes (string, integer or boolean values) are
    kept and passed on. Deprecated: through version 1.1 (removed in 1.2), input may still name
    `correlationid` `correlation_id` and `dataversion` `schema_version`; nothing writes them any more.
    """

    # Python code reads `correlation_id` and `schema_version`; only their wire names changed.
    # Unknown attributes land in `model_extra` and are serialised back, so a replayed or
    # forwarded event leaves as it arrived.
    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        json_schema_extra={"$id": "urn:taskoverflow:events:Envelope", "propertyNames": {"pattern": "^[a-z0-9]+$"}},
    )
    __pydantic_extra__: dict[str, str | int | bool]

    specversion: Literal["1.0"] = "1.0"
    id: NonEmptyStr = Field(default_factory=lambda: str(uuid.uuid4()))
    type: NonEmptyStr
    source: Annotated[str, Field(min_length=1, json_schema_extra={"format": "uri-reference"})]
    time: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: NonEmptyStr | None = None
    datacontenttype: Literal["application/json"] = DATA_CONTENT_TYPE
    dataschema: Annotated[
        str,
        Field(min_length=1, description="The `$id` of the data's JSON Schema.", json_schema_extra={"format": "uri"}),
    ]
    schema_version: Annotated[
        str, Field(alias="dataversion", pattern=r"^\d+\.\d+$", description="`MAJOR.MINOR` of the data's schema.")
    ]
    correlation_id: Annotated[
        str, Field(alias="correlationid", min_length=1, description="Shared by every event one request caused.")
    ]
    traceparent: NonEmptyStr | None = None
    tracestate: str | None = None
    data: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _as_cloudevents_attributes(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        # JSON format: an attribute whose value is null is absent.
        attributes = {name: value for name, value in raw.items() if value is not None}
        # The legacy names are also the Python field names (`Envelope(correlation_id=...)`).
        for legacy, current in LEGACY_ATTRIBUTE_NAMES.items():
            if legacy in attributes:
                attributes.setdefault(current, attributes.pop(legacy))
        # Envelopes written before dataschema existed (outbox rows, the archive) get it derived.
        version = attributes.get("dataversion")
        if "dataschema" not in attributes and isinstance(version, str) and "type" in attributes:
            attributes["dataschema"] = schema_uri(attributes["type"], version.split(".", 1)[0])
        unnamed = [name for name in attributes if not _ATTRIBUTE_NAME.match(name)]
        if unnamed:
            raise ValueError(f"not a CloudEvents attribute name: {', '.join(sorted(unnamed))}")
        return attributes

    @field_validator("time")
    @classmethod
    def _time_has_a_utc_instant(cls, time: datetime) -> datetime:
        # `9999-12-31T23:30-01:00` parses, but its instant lies past year 9999 in UTC: every
        # reader that files events by UTC hour (the archive) would fail on it.
        try:
            time.astimezone(UTC)
        except OverflowError:
            raise ValueError("must fall between years 1 and 9999 in UTC") from None
        return time

    @model_serializer(mode="wrap")
    def _without_absent_attributes(self, serialize: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Strict CloudEvents readers refuse a null optional attribute; leave it out instead.
        return {name: value for name, value in serialize(self).items() if value is not None or name == "data"}

    @property
    def major_version(self) -> int:
        return int(self.schema_version.split(".", 1)[0])


class EventData(BaseModel):
    """Base of every event's `data`. Unknown fields are ignored: minor versions add fields."""

    # A handler's view only: the envelope keeps `data` as it arrived, so what is passed on (a
    # replay, a webhook, the archive) still carries the fields this version does not know.
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[str] = "1.0"


class TodoState(BaseModel):
    """A todo as it is after a change (for a deletion: as it was)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # A deadline is a naive local wall-clock time. The todo-api checks it on the way in and the
    # ical-worker before rendering; both call `parse_deadline`, so the format is defined once.
    DEADLINE_FORMAT: ClassVar[str] = "%Y-%m-%dT%H:%M:%S"
    DEADLINE_PATTERN: ClassVar[str] = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"  # ASCII digits

    id: int
    title: str
    description: str | None = None
    completed: bool
    deadline_at: str | None = None
    created_at: str
    updated_at: str

    @classmethod
    def parse_deadline(cls, text: str) -> datetime:
        """`text` as a deadline; the ValueError says what is wrong (the shape, or no such moment)."""
        if re.fullmatch(cls.DEADLINE_PATTERN, text) is None:
            raise ValueError("must look like YYYY-MM-DDTHH:MM:SS")
        try:
            return datetime.strptime(text, cls.DEADLINE_FORMAT)
        except ValueError:
            raise ValueError("is not a real date and time") from None


class TodoChanged(EventData):
    """A todo was created, updated or deleted. `version` grows by one with every change.

    Since 1.1, `owner` is the todo's owner (its creator's identity token `sub`), so one user's
    events can be found, e.g. to erase them from the archive. Absent or null for a todo created
    without authentication.
    """

    event_type: ClassVar[str] = "TodoChanged"
    schema_version: ClassVar[str] = "1.1"

    action: Literal["created", "updated", "deleted"]
    todo: TodoState
    version: Annotated[int, Field(ge=1)]
    owner: NonEmptyStr | None = None


class S3ObjectRef(BaseModel):
    """Where a large payload lives: the claim-check half of a message."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    bucket: NonEmptyStr
    key: NonEmptyStr
    size_bytes: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class CalendarRequested(EventData):
    """Someone asked for a calendar of the todos.

    Small todo sets travel inline in `todos`; large ones are stored once in S3 and referenced by
    `snapshot` (claim check), so a message never approaches SQS's 256 KiB limit.
    Exactly one of `todos` and `snapshot` is set.

    Since 1.1, `owner` is the requester (an identity token's `sub`): the todos are that user's
    only. It is absent or null for a request made without authentication, which holds every todo.
    """

    event_type: ClassVar[str] = "CalendarRequested"
    schema_version: ClassVar[str] = "1.1"

    job_id: NonEmptyStr
    todo_count: Annotated[int, Field(ge=0)]
    todos: list[TodoState] | None = None
    snapshot: S3ObjectRef | None = None
    notify_email: str | None = None
    owner: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _todos_inline_or_by_reference(self) -> CalendarRequested:
        if (self.todos is None) == (self.snapshot is None):
            raise ValueError("exactly one of todos and snapshot must be set")
        return self


# An outcome's `notify_email` repeats the request's for readers of the archive and webhooks. It is
# a claim anyone able to publish could make: the notifier mails only the address the todo-api
# announced in the job's CalendarRequested (docs/events.md).
_OUTCOME_NOTIFY_EMAIL = (
    "The request's address, repeated for information. Never mailed from here: the notifier mails "
    "only the address the job's CalendarRequested carried."
)


class CalendarReady(EventData):
    """A calendar was rendered and stored; `key` in `bucket` holds the .ics file.

    `bucket` and `key` are always the job's own location (topology.json: the calendar prefix,
    the job id, `.ics`); consumers refuse any other. `size_bytes` and `sha256` describe the
    stored bytes, and the todo-api checks a download against them.
    """

    event_type: ClassVar[str] = "CalendarReady"

    job_id: NonEmptyStr
    bucket: NonEmptyStr
    key: NonEmptyStr
    size_bytes: Annotated[int, Field(ge=0)]
    event_count: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    notify_email: str | None = Field(None, description=_OUTCOME_NOTIFY_EMAIL)


class CalendarFailed(EventData):
    """A calendar job ended without a calendar; `reason` says why, for people."""

    event_type: ClassVar[str] = "CalendarFailed"
    schema_version: ClassVar[str] = "1.1"

    job_id: NonEmptyStr
    reason: NonEmptyStr
    notify_email: str | None = Field(None, description=_OUTCOME_NOTIFY_EMAIL)
    deadline_passed: bool = Field(
        False,
        description=(
            "Since 1.1. The todo-api failed the job because its deadline passed, not the worker. "
            "The calendar may still arrive: a later CalendarReady for the job then wins."
        ),
    )


EVENT_TYPES: dict[str, type[EventData]] = {
    model.event_type: model for model in (TodoChanged, CalendarRequested, CalendarReady, CalendarFailed)
}


def new_envelope(
    data: EventData,
    *,
    source: str,
    correlation_id: str,
    subject: str | None = None,
    caused_by: str | None = None,
) -> Envelope:
    """Wrap `data` in a fresh envelope.

    `caused_by` is the id of the event this one answers. The new id is then derived from it, so
    handling a redelivered (or replayed) cause announces the same event id again, and consumers
    that deduplicate by event id (the notifier) see one event, not two.
    """
    event_id = str(uuid.uuid5(_DERIVED_EVENT_IDS, f"{caused_by}/{data.event_type}")) if caused_by else str(uuid.uuid4())
    return Envelope(
        id=event_id,
        type=data.event_type,
        source=source,
        subject=subject,
        dataschema=schema_uri(data.event_type, data.schema_version.split(".", 1)[0]),
        schema_version=data.schema_version,
        correlation_id=correlation_id,
        data=data.model_dump(mode="json"),
    )


def parse_envelope(body: str | bytes) -> Envelope:
    """Parse a message body, unwrapping an SNS notification if raw delivery was off."""
    try:
        envelope = Envelope.model_validate_json(unwrap_notification(body))
    except ValidationError as invalid:
        raise UnprocessableEvent(f"invalid envelope: {first_problem(invalid)}") from invalid
    if envelope.major_version != SUPPORTED_MAJOR_VERSION:
        raise UnprocessableEvent(f"unsupported schema version {envelope.schema_version} of {envelope.type}")
    return envelope


def parse_data(envelope: Envelope) -> EventData:
    model = EVENT_TYPES.get(envelope.type)
    if model is None:
        raise UnprocessableEvent(f"unknown event type {envelope.type!r}")
    try:
        return model.model_validate(envelope.data)
    except ValidationError as invalid:
        raise UnprocessableEvent(f"invalid {envelope.type} data: {first_problem(invalid)}") from invalid


def unwrap_notification(body: str | bytes) -> str | bytes:
    """The message SNS wrapped in `body` when the subscription's raw message delivery is off;
    any other body as it is."""
    try:
        notification = json.loads(body)
    except ValueError:
        return body
    if isinstance(notification, dict) and notification.get("Type") == "Notification":
        inner = notification.get("Message")
        if isinstance(inner, str):
            return inner
    return body


def first_problem(invalid: ValidationError, *, whole: str | None = "body") -> str:
    """The first problem pydantic found, as `location: message`.

    A problem with the value as a whole (no field) is located at `whole`; None gives its message alone.
    """
    problem = invalid.errors()[0]
    location = ".".join(str(part) for part in problem["loc"]) or whole
    return f"{location}: {problem['msg']}" if location else problem["msg"]
