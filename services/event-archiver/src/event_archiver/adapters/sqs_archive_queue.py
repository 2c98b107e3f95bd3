"""The archiver's SQS queue: receive with arrival times, delete, dead-letter with a reason, release.

Dead letters go the shared consumer's way (`send_to_dead_letter_queue`: a `dead_letter_reason`
attribute, FIFO group and deduplication ids), so operators read them like any other service's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from event_archiver.domain.messages import ReceivedMessage
from taskoverflow_shared.sqs_batches import change_visibility_in_batches, delete_in_batches
from taskoverflow_shared.sqs_consumer import send_to_dead_letter_queue

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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
        failures = delete_in_batches(self.sqs, self.queue_url, [m.receipt_handle for m in messages])
        for failure in failures:
            log.warning("delete_failed", failure=failure)
        return len(failures)

    def dead_letter(self, dead: Sequence[tuple[ReceivedMessage, str]]) -> None:
        # Raises if the DLQ refuses them: deleting now would lose them, so they stay and come back.
        send_to_dead_letter_queue(
            self.sqs, self.dead_letter_queue_url, [(_as_received(message), reason) for message, reason in dead]
        )
        self.delete([message for message, _ in dead])

    def release(self, messages: Sequence[ReceivedMessage]) -> None:
        change_visibility_in_batches(self.sqs, self.queue_url, [m.receipt_handle for m in messages], 0)


def _as_received(message: ReceivedMessage) -> dict[str, Any]:
    """The message in the shape ReceiveMessage returned it, which the shared dead-lettering takes."""
    system_attributes = {} if message.group_id is None else {"MessageGroupId": message.group_id}
    return {
        "MessageId": message.message_id,
        "Body": message.body,
        "MessageAttributes": dict(message.attributes),
        "Attributes": system_attributes,
    }
