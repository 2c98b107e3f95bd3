"""Every event is a CloudEvent 1.0 that the CloudEvents SDK reads and writes without loss: as it is
serialised, and as the SQS consumer receives it after the SNS fan-out."""

import json

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event, to_structured_event
from cloudevents.core.v1.event import CloudEvent

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import EVENT_TYPES, parse_data, parse_envelope
from taskoverflow_shared.schema_files import SCHEMA_DIR
from taskoverflow_shared.sns_publisher import SnsPublisher
from tests.support.event_samples import ONE_OF_EACH_TYPE, one_envelope_of_each_type
from tests.support.sqs import receive_all

STRUCTURED = {"Content-Type": "application/cloudevents+json"}


def read_with_the_sdk(body: bytes | str) -> CloudEvent:
    """What a strict CloudEvents receiver does with a structured-mode body (raises if invalid)."""
    return from_http_event(HTTPMessage(headers=STRUCTURED, body=body if isinstance(body, bytes) else body.encode()))


def test_the_samples_cover_every_event_type():
    assert {data.event_type for data in ONE_OF_EACH_TYPE} == set(EVENT_TYPES)


@pytest.mark.parametrize("envelope", one_envelope_of_each_type(), ids=lambda envelope: envelope.type)
def test_every_event_round_trips_through_the_cloudevents_sdk(envelope):
    event = read_with_the_sdk(envelope.model_dump_json())
    assert event.get_attributes() == {
        "specversion": "1.0",
        "id": envelope.id,
        "source": "todo-api",
        "type": envelope.type,
        "time": envelope.time,
        "subject": envelope.subject,
        "datacontenttype": "application/json",
        "dataschema": f"urn:taskoverflow:events:{envelope.type}:v1",
        "dataversion": EVENT_TYPES[envelope.type].schema_version,  # CalendarRequested is 1.1
        "correlationid": "corr-1",
    }
    assert event.get_data() == envelope.data

    written = to_structured_event(event)
    assert written.headers["content-type"] == "application/cloudevents+json"
    assert parse_envelope(written.body) == envelope
    assert parse_data(parse_envelope(written.body)) == parse_data(envelope)


def test_an_events_dataschema_is_the_id_of_its_schema_file():
    for envelope in one_envelope_of_each_type():
        schema = json.loads((SCHEMA_DIR / f"{envelope.type}.v{envelope.major_version}.json").read_text())
        assert envelope.dataschema == schema["$id"]


def test_extension_attributes_the_sdk_adds_are_kept():
    event = read_with_the_sdk(one_envelope_of_each_type()[0].model_dump_json())
    traced = CloudEvent(
        {
            **event.get_attributes(),
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "tenant": "a",
        },
        event.get_data(),
    )
    received = parse_envelope(to_structured_event(traced).body)
    assert received.traceparent == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert received.model_extra == {"tenant": "a"}
    assert read_with_the_sdk(received.model_dump_json()).get_extension("tenant") == "a"


def test_a_delivered_event_validates_as_a_cloudevent(topology_addresses):
    """Published to the topic, fanned out by SNS, received from SQS: the body the consumer loop
    parses is a valid structured CloudEvent, attributes and data intact."""
    sent = one_envelope_of_each_type()
    assert SnsPublisher(make_client("sns"), topology_addresses.topic_arn).publish(sent) == {e.id for e in sent}

    # The event-archiver's queue takes every event type.
    received = receive_all(make_client("sqs"), topology_addresses.queues["event-archiver"].url, len(sent))
    by_id = {envelope.id: envelope for envelope in sent}
    for message in received:
        event = read_with_the_sdk(message["Body"])
        assert parse_envelope(message["Body"]) == by_id[event.get_id()]
        assert event.get_extension("correlationid") == "corr-1"
        assert message["MessageAttributes"]["correlationid"]["StringValue"] == "corr-1"
    assert len(received) == len(sent)
