"""The channel: the one part of the consumer that talks to SQS (receive, delete, change
visibility, dead-letter)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from taskoverflow_shared.sqs_batches import (
    OutgoingMessage,
    change_visibility_in_batches,
    delete_in_batches,
    resendable_attributes,
    send_in_batches,
)
from taskoverflow_shared.sqs_consumer.message import RECEIVED_SYSTEM_ATTRIBUTES, message_group
from taskoverflow_shared.topology import is_fifo

DEAD_LETTER_REASON_ATTRIBUTE = "dead_letter_reason"

log = structlog.get_logger("taskoverflow.consumer")


@dataclass(frozen=True)
class Channel:
    """A queue and its DLQ, seen through one SQS client."""

    sqs: Any
    queue_url: str
    dead_letter_queue_url: str

    def receive(self, max_messages: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=RECEIVED_SYSTEM_ATTRIBUTES,
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def delete(self, receipt_handles: list[str]) -> None:
        for failure in delete_in_batches(self.sqs, self.queue_url, receipt_handles):
            # Not fatal: the message comes back and the idempotent handler absorbs it.
            log.warning("delete_failed", failure=failure)

    def change_visibility(self, receipt_handles: Sequence[str], seconds: int) -> None:
        change_visibility_in_batches(self.sqs, self.queue_url, receipt_handles, seconds)

    def dead_letter(self, dead: Sequence[tuple[dict[str, Any], str]]) -> None:
        send_to_dead_letter_queue(self.sqs, self.dead_letter_queue_url, dead)


def send_to_dead_letter_queue(sqs: Any, dead_letter_queue_url: str, dead: Sequence[tuple[dict[str, Any], str]]) -> None:
    """Send received messages (as ReceiveMessage returned them) to the DLQ, each with its reason.

    Raises if SQS refuses any: the caller must then not delete them (they come back and are
    tried again), or they would be lost.
    """
    fifo = is_fifo(dead_letter_queue_url)
    outgoing = [
        OutgoingMessage(
            key=message["MessageId"],
            body=message["Body"],
            attributes={
                **resendable_attributes(message.get("MessageAttributes", {})),
                DEAD_LETTER_REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1000]},
            },
            # A FIFO DLQ wants both ids. The original group keeps a redrive in the old order; the
            # message id makes a second dead-lettering of the same message (we crashed before
            # deleting it) a duplicate that SQS drops.
            group_id=(message_group(message) or message["MessageId"]) if fifo else None,
            deduplication_id=message["MessageId"] if fifo else None,
        )
        for message, reason in dead
    ]
    result = send_in_batches(sqs, dead_letter_queue_url, outgoing)
    if result.failed:
        raise RuntimeError(f"could not dead-letter messages: {result.failed}")
