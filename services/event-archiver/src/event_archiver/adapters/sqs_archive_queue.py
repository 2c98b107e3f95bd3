"""The archiver's SQS queue: receive with arrival times, delete, dead-letter with a reason, release.

Dead letters carry the shared consumer's `dead_letter_reason` attribute, so the redrive tool and
operators read them like any other service's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog

from event_archiver.domain.messages import ReceivedMessage
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE

SQS_BATCH_LIMIT = 10
DEAD_LETTER_REASON_LIMIT = 1000
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
            MessageSystemAttributeNames=["SentTimestamp"],
            MessageAttributeNames=["All"],
        )
        return [
            ReceivedMessage(
                message_id=message["MessageId"],
                receipt_handle=message["ReceiptHandle"],
                body=message["Body"],
                sent_at=EPOCH + timedelta(milliseconds=int(message["Attributes"]["SentTimestamp"])),
                attributes=message.get("MessageAttributes", {}),
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
            response = self.sqs.send_message_batch(
                QueueUrl=self.dead_letter_queue_url,
                Entries=[
                    {
                        "Id": str(index),
                        "MessageBody": message.body,
                        "MessageAttributes": {
                            **message.attributes,
                            DEAD_LETTER_REASON_ATTRIBUTE: {
                                "DataType": "String",
                                "StringValue": reason[:DEAD_LETTER_REASON_LIMIT],
                            },
                        },
                    }
                    for index, (message, reason) in enumerate(batch)
                ],
            )
            if response.get("Failed"):
                # Deleting now would lose them: they stay, come back and are tried again.
                raise RuntimeError(f"the dead-letter queue refused messages: {response['Failed']}")
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


def _batches(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[start : start + SQS_BATCH_LIMIT] for start in range(0, len(items), SQS_BATCH_LIMIT)]
