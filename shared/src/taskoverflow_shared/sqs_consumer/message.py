"""What a received message (as ReceiveMessage returned it) says about itself: its envelope,
arrival time, message group, attributes and event type."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from taskoverflow_shared.events import EVENT_TYPES, unwrap_notification
from taskoverflow_shared.metrics import OTHER
from taskoverflow_shared.topology import load_topology

# A standard queue has no MessageGroupId and leaves it out of the answer.
RECEIVED_SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "MessageGroupId", "SentTimestamp"]


def envelope_text(message: dict[str, Any]) -> str:
    """The envelope a message carries, as text; unwrapped when the subscription wraps it
    (raw message delivery switched off)."""
    body: str = message["Body"]
    return str(unwrap_notification(body))


def sent_at(message: dict[str, Any]) -> datetime:
    """When SQS accepted the message (its SentTimestamp): the arrival time."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(message["Attributes"]["SentTimestamp"]))


def message_group(message: dict[str, Any]) -> str | None:
    """The FIFO message group a message was received in; None on a standard queue."""
    group: str | None = message.get("Attributes", {}).get("MessageGroupId")
    return group


def receive_count(message: dict[str, Any]) -> str | None:
    """How many times SQS has handed the message out, this time included."""
    count: str | None = message.get("Attributes", {}).get("ApproximateReceiveCount")
    return count


def attribute(message: dict[str, Any], name: str) -> str | None:
    value: str | None = message.get("MessageAttributes", {}).get(name, {}).get("StringValue")
    return value


def event_type(message: dict[str, Any]) -> str:
    """The event type a message says it carries, for its metrics: the publisher's `type` attribute,
    else the body's; a type events.py does not define is "other", so no message adds a metric."""
    found = attribute(message, load_topology().message_type_attribute)
    if found is None:
        try:
            found = json.loads(envelope_text(message)).get("type")
        except (ValueError, AttributeError):
            found = None
    return found if isinstance(found, str) and found in EVENT_TYPES else OTHER


def span_attributes(message: dict[str, Any], queue_url: str) -> dict[str, str | int]:
    """OpenTelemetry's messaging attributes of the span that processes the message."""
    attributes: dict[str, str | int] = {
        "messaging.system": "aws_sqs",
        "messaging.operation.type": "process",
        "messaging.destination.name": queue_url.rsplit("/", 1)[-1],
        "messaging.message.id": message["MessageId"],
    }
    count = receive_count(message)
    if count is not None:
        attributes["messaging.aws_sqs.receive_count"] = int(count)
    return attributes
