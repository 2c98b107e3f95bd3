import json

import pytest
from pydantic import ValidationError

from taskoverflow_shared.events import (
    CalendarFailed,
    CalendarRequested,
    S3ObjectRef,
    TodoChanged,
    UnprocessableEvent,
    first_problem,
    new_envelope,
    parse_data,
    parse_envelope,
    unwrap_notification,
)
from taskoverflow_shared.schema_files import SCHEMA_DIR, expected_schema_files

TODO = {
    "id": 7,
    "title": "Write the report",
    "description": None,
    "completed": False,
    "deadline_at": "2026-12-01T09:00:00",
    "created_at": "2026-11-27T10:00:00+00:00",
    "updated_at": "2026-11-27T10:00:00+00:00",
}


def todo_changed_envelope(**overrides):
    data = TodoChanged(action="created", todo=TODO, version=1)
    return new_envelope(data, source="todo-api", correlation_id="corr-1", subject="todos/7").model_copy(
        update=overrides
    )


def test_schema_files_in_the_repository_match_the_models():
    on_disk = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.json")}
    assert on_disk == expected_schema_files(), "run `taskoverflow-export-schemas` and commit the result"


def test_envelope_round_trips_through_json():
    envelope = todo_changed_envelope()
    parsed = parse_envelope(envelope.model_dump_json())
    assert parsed == envelope
    assert parse_data(parsed) == TodoChanged(action="created", todo=TODO, version=1)


def test_sns_notification_wrapper_is_unwrapped():
    envelope = todo_changed_envelope()
    wrapped = json.dumps({"Type": "Notification", "MessageId": "m-1", "Message": envelope.model_dump_json()})
    assert parse_envelope(wrapped) == envelope


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps(["a list"]),
        json.dumps({"Type": "Notification", "Message": {"not": "text"}}),
        json.dumps({"Type": "SubscriptionConfirmation", "Message": "confirm"}),
    ],
)
def test_a_body_that_wraps_no_notification_is_left_as_it_is(body):
    assert unwrap_notification(body) == body


def test_the_first_pydantic_problem_names_its_field_or_the_whole_value():
    with pytest.raises(ValidationError) as in_a_field:
        TodoChanged.model_validate({"action": "created", "todo": TODO, "version": 0})
    assert first_problem(in_a_field.value).startswith("version: ")
    with pytest.raises(ValidationError) as whole:
        TodoChanged.model_validate("not an object")
    assert first_problem(whole.value).startswith("body: ")
    assert not first_problem(whole.value, whole=None).startswith("body")


def test_the_wire_carries_cloudevents_names_and_no_null_attributes():
    body = json.loads(todo_changed_envelope(subject=None).model_dump_json())
    assert set(body) == {
        "specversion",
        "id",
        "type",
        "source",
        "time",
        "datacontenttype",
        "dataschema",
        "dataversion",
        "correlationid",
        "data",
    }
    assert (body["datacontenttype"], body["dataschema"]) == (
        "application/json",
        "urn:taskoverflow:events:TodoChanged:v1",
    )
    assert (body["dataversion"], body["correlationid"]) == (TodoChanged.schema_version, "corr-1")


def test_envelopes_with_the_names_before_cloudevents_are_still_read():
    """Outbox rows, archived events and messages in flight from before the rename (through 1.1)."""
    envelope = todo_changed_envelope(subject=None)
    body = json.loads(envelope.model_dump_json())
    legacy = {name: value for name, value in body.items() if name not in ("correlationid", "dataversion", "dataschema")}
    legacy |= {
        "correlation_id": "corr-1",
        "schema_version": TodoChanged.schema_version,
        "subject": None,
        "datacontenttype": None,
    }
    parsed = parse_envelope(json.dumps(legacy))
    assert parsed == envelope
    assert json.loads(parsed.model_dump_json()) == body


def test_minor_versions_add_fields_that_older_consumers_ignore_and_pass_on():
    envelope = todo_changed_envelope(schema_version="1.4")
    body = json.loads(envelope.model_dump_json())
    body["data"]["priority"] = "high"
    body["tenant"] = "acme"
    body["retries"] = 2
    parsed = parse_envelope(json.dumps(body))
    assert parse_data(parsed).version == 1
    # A replay or a webhook sends what arrived, not only what this version knows.
    assert json.loads(parsed.model_dump_json()) == body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "invalid envelope"),
        ("{}", "invalid envelope"),
        (
            json.dumps({**json.loads(todo_changed_envelope().model_dump_json()), "tenant_id": "a"}),
            "not a CloudEvents attribute name: tenant_id",
        ),
        (
            json.dumps({**json.loads(todo_changed_envelope().model_dump_json()), "tenant": {"id": "a"}}),
            "invalid envelope: tenant",
        ),
        (todo_changed_envelope(schema_version="2.0").model_dump_json(), "unsupported schema version 2.0"),
    ],
)
def test_unparseable_messages_are_unprocessable_with_a_reason(body, reason):
    with pytest.raises(UnprocessableEvent, match=reason):
        parse_envelope(body)


def test_unknown_event_type_and_bad_data_are_unprocessable():
    with pytest.raises(UnprocessableEvent, match="unknown event type 'TodoArchived'"):
        parse_data(todo_changed_envelope(type="TodoArchived"))
    with pytest.raises(UnprocessableEvent, match="invalid TodoChanged data: version"):
        parse_data(todo_changed_envelope(data={"action": "created", "todo": TODO, "version": 0}))


def test_calendar_request_carries_todos_inline_or_by_reference_never_both():
    reference = S3ObjectRef(bucket="b", key="snapshots/j.json", size_bytes=10, sha256="0" * 64)
    assert CalendarRequested(job_id="j", todo_count=0, todos=[]).todos == []
    assert CalendarRequested(job_id="j", todo_count=5, snapshot=reference).snapshot == reference
    with pytest.raises(ValueError, match="exactly one of todos and snapshot"):
        CalendarRequested(job_id="j", todo_count=0, todos=[], snapshot=reference)
    with pytest.raises(ValueError, match="exactly one of todos and snapshot"):
        CalendarRequested(job_id="j", todo_count=0)


def test_an_event_caused_by_another_gets_an_id_derived_from_it():
    ready = CalendarFailed(job_id="j", reason="r")
    first = new_envelope(ready, source="w", correlation_id="c", caused_by="request-1")
    again = new_envelope(ready, source="w", correlation_id="c", caused_by="request-1")
    other = new_envelope(ready, source="w", correlation_id="c", caused_by="request-2")
    fresh = new_envelope(ready, source="w", correlation_id="c")
    assert first.id == again.id
    assert len({first.id, other.id, fresh.id}) == 3


@pytest.mark.parametrize("time", ["9999-12-31T23:30:00-01:00", "0001-01-01T00:30:00+01:00"])
def test_an_event_time_with_no_instant_in_utc_is_refused(time):
    envelope = json.loads(todo_changed_envelope().model_dump_json())

    with pytest.raises(UnprocessableEvent, match=r"time: .*between years 1 and 9999 in UTC"):
        parse_envelope(json.dumps({**envelope, "time": time}))


def test_an_event_in_the_last_hour_of_year_9999_utc_is_an_event():
    envelope = json.loads(todo_changed_envelope().model_dump_json())

    assert parse_envelope(json.dumps({**envelope, "time": "9999-12-31T23:59:59Z"})).time.year == 9999
