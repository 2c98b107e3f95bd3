"""Batch calls to SQS within its limits (10 entries, 256 KiB per request), reporting partial failures.

SQS batch calls succeed or fail per entry: the callers act only on the entries that succeeded
(a redrive deletes from the DLQ only what reached the source queue; a consumer deletes only what
reached its DLQ). Shared by the consumer loop, the event-archiver and the operator commands.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SQS_BATCH_LIMIT = 10
# The payload limit of one SendMessageBatch request: the sum of its messages' bodies and attributes.
SQS_BATCH_BYTES_LIMIT = 256 * 1024

MessageAttributes = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class OutgoingMessage:
    """A message to send; `key` is the caller's name for it (a message id, an event id).

    `group_id` and `deduplication_id` are for FIFO queues only: a standard queue refuses them.
    """

    key: str
    body: str
    attributes: MessageAttributes = field(default_factory=dict)
    group_id: str | None = None
    deduplication_id: str | None = None

    def entry(self, entry_id: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": entry_id, "MessageBody": self.body, "MessageAttributes": self.attributes}
        if self.group_id is not None:
            entry["MessageGroupId"] = self.group_id
        if self.deduplication_id is not None:
            entry["MessageDeduplicationId"] = self.deduplication_id
        return entry

    @property
    def size_bytes(self) -> int:
        # SQS counts attribute names, data types and values towards the size limit.
        attribute_bytes = 0
        for name, value in self.attributes.items():
            payload = value.get("StringValue", "").encode() if "StringValue" in value else value.get("BinaryValue", b"")
            attribute_bytes += len(name.encode()) + len(value["DataType"].encode()) + len(payload)
        return len(self.body.encode()) + attribute_bytes


@dataclass
class SendResult:
    sent: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


def resendable_attributes(attributes: Mapping[str, Mapping[str, Any]], *, drop: str | None = None) -> MessageAttributes:
    """Received message attributes in the shape SendMessage accepts, without `drop`.

    ReceiveMessage may add the list fields SQS reserves for future use; sending them back is
    refused, so only the data type and the value are kept.
    """
    kept: MessageAttributes = {}
    for name, value in attributes.items():
        if name == drop:
            continue
        kept[name] = {key: value[key] for key in ("DataType", "StringValue", "BinaryValue") if key in value}
    return kept


def send_in_batches(sqs: Any, queue_url: str, messages: Sequence[OutgoingMessage]) -> SendResult:
    """Send `messages` with as few SendMessageBatch calls as the limits allow; report per message."""
    result = SendResult()
    for batch in _chunks(messages):
        # Entry ids are positions: callers' keys need not match SQS's [A-Za-z0-9_-]{1,80}.
        response = sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[message.entry(str(index)) for index, message in enumerate(batch)],
        )
        result.sent.update(batch[int(entry["Id"])].key for entry in response.get("Successful", []))
        for failure in response.get("Failed", []):
            result.failed[batch[int(failure["Id"])].key] = f"{failure.get('Code')}: {failure.get('Message', '')}"
    return result


def delete_in_batches(sqs: Any, queue_url: str, receipt_handles: Sequence[str]) -> list[dict[str, Any]]:
    """Delete by receipt handle; return the failures (the caller decides whether they matter)."""
    failures: list[dict[str, Any]] = []
    for start in range(0, len(receipt_handles), SQS_BATCH_LIMIT):
        response = sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": handle}
                for index, handle in enumerate(receipt_handles[start : start + SQS_BATCH_LIMIT])
            ],
        )
        failures.extend(response.get("Failed", []))
    return failures


def change_visibility_in_batches(
    sqs: Any, queue_url: str, receipt_handles: Sequence[str], seconds: int
) -> list[dict[str, Any]]:
    """Set received messages' visibility timeout (0: visible again now); return the failures."""
    failures: list[dict[str, Any]] = []
    for start in range(0, len(receipt_handles), SQS_BATCH_LIMIT):
        response = sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
                for index, handle in enumerate(receipt_handles[start : start + SQS_BATCH_LIMIT])
            ],
        )
        failures.extend(response.get("Failed", []))
    return failures


def _chunks(messages: Sequence[OutgoingMessage]) -> Iterator[list[OutgoingMessage]]:
    current: list[OutgoingMessage] = []
    current_bytes = 0
    for message in messages:
        size = message.size_bytes
        if current and (len(current) == SQS_BATCH_LIMIT or current_bytes + size > SQS_BATCH_BYTES_LIMIT):
            yield current
            current, current_bytes = [], 0
        current.append(message)
        current_bytes += size
    if current:
        yield current
