"""Publish envelopes to the SNS topic, in batches, with the event type as a message attribute.

Subscriptions route on the `type` attribute (filter policies), so consumers only ever receive
the events they handle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from taskoverflow_shared.events import Envelope

SQS_MESSAGE_LIMIT_BYTES = 256 * 1024
SNS_BATCH_LIMIT = 10


class MessageTooLarge(Exception):
    """The event would not fit in one SQS message; send a reference (claim check) instead."""


class EventPublisher(Protocol):
    """Port: publish envelopes; return the ids that were accepted."""

    def publish(self, envelopes: Sequence[Envelope]) -> set[str]: ...


@dataclass
class PublishedSizes:
    """The largest message body sent so far: lets tests prove the 256 KiB limit holds."""

    largest_bytes: int = 0


@dataclass
class SnsPublisher:
    sns: Any
    topic_arn: str
    type_attribute: str = "type"
    sizes: PublishedSizes = field(default_factory=PublishedSizes)

    def publish(self, envelopes: Sequence[Envelope]) -> set[str]:
        """Publish in batches of up to 10 (one request each); return the ids SNS accepted.

        A connection error propagates: the caller (the outbox relay) keeps the rows and retries.
        """
        accepted: set[str] = set()
        for batch in _batches([self._entry(envelope) for envelope in envelopes]):
            response = self.sns.publish_batch(
                TopicArn=self.topic_arn, PublishBatchRequestEntries=[entry for entry, _ in batch]
            )
            accepted.update(entry["Id"] for entry in response.get("Successful", []))
        return accepted

    def _entry(self, envelope: Envelope) -> tuple[dict[str, Any], int]:
        body = envelope.model_dump_json()
        attributes = {
            self.type_attribute: {"DataType": "String", "StringValue": envelope.type},
            "correlation_id": {"DataType": "String", "StringValue": envelope.correlation_id},
        }
        # SQS counts attribute names, types and values towards the 256 KiB limit.
        size = len(body.encode()) + sum(
            len(name) + len(value["DataType"]) + len(value["StringValue"].encode())
            for name, value in attributes.items()
        )
        if size > SQS_MESSAGE_LIMIT_BYTES:
            raise MessageTooLarge(f"{envelope.type} {envelope.id} is {size} bytes")
        self.sizes.largest_bytes = max(self.sizes.largest_bytes, size)
        # Batch entry ids allow only [A-Za-z0-9_-]{1,80}: a UUID event id fits.
        return {"Id": envelope.id, "Message": body, "MessageAttributes": attributes}, size


def _batches(entries: list[tuple[dict[str, Any], int]]) -> list[list[tuple[dict[str, Any], int]]]:
    """Chunks that respect both SNS batch limits: 10 entries and 256 KiB in total."""
    batches: list[list[tuple[dict[str, Any], int]]] = []
    current: list[tuple[dict[str, Any], int]] = []
    current_bytes = 0
    for entry, size in entries:
        if current and (len(current) == SNS_BATCH_LIMIT or current_bytes + size > SQS_MESSAGE_LIMIT_BYTES):
            batches.append(current)
            current, current_bytes = [], 0
        current.append((entry, size))
        current_bytes += size
    if current:
        batches.append(current)
    return batches
