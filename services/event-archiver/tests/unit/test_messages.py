"""What the archive keeps of a received message."""

import json
from datetime import UTC, datetime

import pytest

from event_archiver.adapters.sqs_messages import archive_entry
from taskoverflow_shared.events import UnprocessableEvent

ARRIVED = datetime(2026, 11, 27, 23, 5, 1, 123000, tzinfo=UTC)


def received(body: str) -> dict:
    """A message as ReceiveMessage returns it, sent at ARRIVED."""
    return {
        "MessageId": "m",
        "ReceiptHandle": "r",
        "Body": body,
        "Attributes": {"SentTimestamp": str(int(ARRIVED.timestamp() * 1000))},
    }


def test_a_raw_envelope_is_kept_as_delivered_with_its_arrival_time(envelopes):
    envelope = envelopes.todo_changed()
    body = envelope.model_dump_json()

    entry = archive_entry(received(body))

    assert entry.envelope_json == body
    assert entry.envelope == envelope
    assert entry.arrived_at == ARRIVED


def test_an_envelope_wrapped_by_sns_is_unwrapped(envelopes):
    body = envelopes.calendar_requested().model_dump_json()
    notification = json.dumps({"Type": "Notification", "MessageId": "x", "Message": body})

    assert archive_entry(received(notification)).envelope_json == body


def test_an_envelope_no_consumer_understands_is_still_archived(envelopes):
    future = envelopes.todo_changed().model_copy(update={"type": "TodoArchived", "schema_version": "2.0"})

    assert archive_entry(received(future.model_dump_json())).envelope.type == "TodoArchived"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("{not json", "invalid envelope: body: Invalid JSON"),
        ('{"type": "TodoChanged"}', "invalid envelope: source: Field required"),
        ("[1, 2]", "invalid envelope: body: Input should be an object"),
    ],
)
def test_a_body_that_is_no_envelope_is_unprocessable_with_a_reason(body, reason):
    with pytest.raises(UnprocessableEvent) as unprocessable:
        archive_entry(received(body))

    assert unprocessable.value.reason.startswith(reason)
