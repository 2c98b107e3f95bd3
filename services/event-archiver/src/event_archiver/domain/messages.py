"""Received messages and what the archive keeps of them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from taskoverflow_shared.event_archive import ArchiveEntry
from taskoverflow_shared.events import UnprocessableEvent


@dataclass(frozen=True)
class ReceivedMessage:
    """An SQS message as the archiver needs it: `sent_at` is SQS's SentTimestamp, the arrival time."""

    message_id: str
    receipt_handle: str
    body: str
    sent_at: datetime
    # Message attributes (the event type, correlation id) travel with a dead letter.
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # FIFO queues only: a dead letter goes into the FIFO DLQ in the same group.
    group_id: str | None = None


def archive_entry(message: ReceivedMessage) -> ArchiveEntry:
    """The envelope the message carries, ready to archive; UnprocessableEvent when it carries none.

    Any well-formed envelope is kept, whatever its type or schema version: the archive records
    what was published, it does not judge whether a consumer can handle it.
    """
    envelope_json = _unwrapped_from_sns(message.body)
    try:
        return ArchiveEntry.from_envelope_json(envelope_json, message.sent_at)
    except ValidationError as invalid:
        problem = invalid.errors()[0]
        location = ".".join(str(part) for part in problem["loc"]) or "body"
        raise UnprocessableEvent(f"invalid envelope: {location}: {problem['msg']}") from invalid


def _unwrapped_from_sns(body: str) -> str:
    """The envelope text, also when the subscription wraps messages (raw delivery switched off)."""
    try:
        notification = json.loads(body)
    except ValueError:
        return body
    if isinstance(notification, dict) and notification.get("Type") == "Notification":
        message = notification.get("Message")
        if isinstance(message, str):
            return message
    return body
