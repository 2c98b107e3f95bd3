"""The archiver's SQS queue: receive with arrival times, delete, dead-letter with a reason, release.

Dead letters go the shared consumer's way (`send_to_dead_letter_queue`: a `dead_letter_reason`
attribute, FIFO group and deduplication ids), so operators read them like any other service's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog

from event_archiver.domain.messages import ReceivedMessage
from taskoverflow_shared.sqs_consumer import send_to_dead_letter_queue

SQS_BATCH_LIMIT = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

T = TypeVar("T")

log = structlog.get_logger("event_archiver.queue")


@dataclass
class SqsArchiveQueue:
    sqs: Any
    queue_url: str
    dead_letter_queue_url: str

    def receive(self, *, max_messages: int, wait_seconds: int) -> list[ReceivedMessage]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["SentTimestamp", "MessageGroupId"],
            MessageAttributeNames=["All"],
        )
        return [
            ReceivedMessage(
                message_id=message["MessageId"],
                receipt_handle=message["ReceiptHandle"],
                body=message["Body"],
                sent_at=EPOCH + timedelta(milliseconds=int(message["Attributes"]["SentTimestamp"])),
                attributes=message.get("MessageAttributes", {}),
                group_id=message["Attributes"].get("MessageGroupId"),
            )
            for message in response.get("Messages", [])
        ]

    def delete(self, messages: Sequence[ReceivedMessage]) -> int:
        failed = 0
        for batch in _batches(messages):
            response = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": m.receipt_handle} for index, m in enumerate(batch)],
            )
            for failure in response.get("Failed", []):
                log.warning("delete_failed", failure=failure)
                failed += 1
        return failed

    def dead_letter(self, dead: Sequence[tuple[ReceivedMessage, str]]) -> None:
        for batch in _batches(dead):
            # Raises if the DLQ refuses them: deleting now would lose them, so they stay and come back.
            send_to_dead_letter_queue(
                self.sqs, self.dead_letter_queue_url, [(_as_received(message), reason) for message, reason in batch]
            )
            self.delete([message for message, _ in batch])

    def release(self, messages: Sequence[ReceivedMessage]) -> None:
        for batch in _batches(messages):
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m.receipt_handle, "VisibilityTimeout": 0}
                    for index, m in enumerate(batch)
                ],
            )


def _as_received(message: ReceivedMessage) -> dict[str, Any]:
    """The message in the shape ReceiveMessage returned it, which the shared dead-lettering takes."""
    system_attributes = {} if message.group_id is None else {"MessageGroupId": message.group_id}
    return {
        "MessageId": message.message_id,
        "Body": message.body,
        "MessageAttributes": dict(message.attributes),
        "Attributes": system_attributes,
    }


def _batches(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[start : start + SQS_BATCH_LIMIT] for start in range(0, len(items), SQS_BATCH_LIMIT)]
