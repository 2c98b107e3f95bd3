"""The AsyncAPI document is generated from topology.json and the event schemas, and the committed
file is what they generate (tests/integration/test_asyncapi_validation.py checks it against the
AsyncAPI specification)."""

import json

import pytest
from jsonschema import Draft202012Validator, ValidationError

from taskoverflow_shared.asyncapi import ASYNCAPI_FILE, asyncapi_document, asyncapi_text, published_asyncapi_document
from taskoverflow_shared.events import EVENT_TYPES
from taskoverflow_shared.schema_files import SCHEMA_DIR
from taskoverflow_shared.topology import load_topology
from tests.support.event_samples import one_envelope_of_each_type

COMMITTED = SCHEMA_DIR.parent / ASYNCAPI_FILE


def test_the_committed_document_matches_the_topology_and_the_schemas():
    assert COMMITTED.read_text() == asyncapi_text(), "run `taskoverflow-export-schemas` and commit the result"
    assert published_asyncapi_document() == json.loads(COMMITTED.read_text())


def test_each_queue_channel_carries_what_its_filter_policy_lets_through():
    document, topology = asyncapi_document(), load_topology("standard")
    [publishes, *_] = [op for op in document["operations"].values() if op["action"] == "send"]
    subscriptions = {c["endpoint"]["name"]: c for c in publishes["bindings"]["sns"]["consumers"]}
    for service, queue in topology.queues.items():
        expected = list(queue.event_types or EVENT_TYPES)
        assert list(document["channels"][queue.name]["messages"]) == expected
        assert list(document["channels"][queue.dlq_name]["messages"]) == expected
        assert subscriptions[queue.name].get("filterPolicy") == queue.filter_policy("type")
        assert subscriptions[queue.name]["rawMessageDelivery"] is True
        sqs = document["channels"][queue.name]["bindings"]["sqs"]
        assert sqs["queue"]["redrivePolicy"] == {
            "deadLetterQueue": {"name": queue.dlq_name},
            "maxReceiveCount": queue.max_receive_count,
        }
        assert sqs["deadLetterQueue"]["name"] == queue.dlq_name
        assert document["operations"][f"{service}-consumes"]["channel"] == {"$ref": f"#/channels/{queue.name}"}


def test_every_event_type_is_sent_by_its_producers_and_received_by_a_consumer():
    document = asyncapi_document()
    sent, received = [], set()
    for operation in document["operations"].values():
        names = [ref["$ref"].rsplit("/", 1)[1] for ref in operation["messages"]]
        if operation["action"] == "send":
            sent += names
        else:
            received.update(names)
    producers = load_topology().producers
    assert sorted(sent) == sorted(event_type for event_type in EVENT_TYPES for _ in producers[event_type])
    assert received == set(EVENT_TYPES)


def test_a_message_is_the_cloudevent_with_its_types_schema_as_data():
    message = asyncapi_document()["components"]["messages"]["CalendarReady"]
    assert message["contentType"] == "application/cloudevents+json"
    envelope, specific = message["payload"]["allOf"]
    assert envelope == {"$ref": "#/components/schemas/Envelope"}
    assert specific["properties"]["data"] == {"$ref": "#/components/schemas/CalendarReady"}
    assert specific["properties"]["dataschema"] == {"const": "urn:taskoverflow:events:CalendarReady:v1"}
    assert message["headers"]["properties"]["type"]["const"] == "CalendarReady"


def test_every_published_event_validates_against_its_message_in_the_document():
    document = asyncapi_document()
    for envelope in one_envelope_of_each_type():
        # The document is the root, so the payload's `#/components/...` references resolve.
        payload = {**document, "$ref": f"#/components/messages/{envelope.type}/payload"}
        Draft202012Validator(payload, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
            json.loads(envelope.model_dump_json())
        )
    wrong_type = {**json.loads(one_envelope_of_each_type()[0].model_dump_json()), "type": "CalendarFailed"}
    with pytest.raises(ValidationError, match="'TodoChanged' was expected"):
        Draft202012Validator({**document, "$ref": "#/components/messages/TodoChanged/payload"}).validate(wrong_type)
