"""An in-memory SQS client for unit tests of the consumer loop: the calls it makes, the answers SQS gives.

Only what the loop uses: receive, delete, change visibility (batch calls, answered per entry) and
send to a DLQ. Visibility timeouts are not simulated: a received message stays in flight until
the test looks at what the loop did with it (`deleted`, `released`, `dead_letters`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import count
from typing import Any


@dataclass
class FakeSqs:
    queue_url: str = "https://sqs.fake/000000000000/queue"
    dead_letter_queue_url: str = "https://sqs.fake/000000000000/queue-dlq"
    # What the next receives hand out, in order.
    pending: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    # (body, message attributes, message group) of every message sent to the DLQ.
    dead_letters: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    receive_calls: int = 0
    refuse_dead_letters: bool = False
    _ids: count = field(default_factory=count)

    def send(self, body: str, *, group: str | None = None, attributes: dict[str, Any] | None = None) -> str:
        """Put a message on the queue; return its message id."""
        number = next(self._ids)
        system_attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))}
        if group is not None:
            system_attributes["MessageGroupId"] = group
        self.pending.append(
            {
                "MessageId": f"m{number}",
                "ReceiptHandle": f"r{number}",
                "Body": body,
                "Attributes": system_attributes,
                "MessageAttributes": attributes or {},
            }
        )
        return f"m{number}"

    def get_queue_url(self, *, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": self.dead_letter_queue_url if QueueName.endswith("-dlq") else self.queue_url}

    def receive_message(self, *, QueueUrl: str, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:
        self.receive_calls += 1
        taken, self.pending = self.pending[:MaxNumberOfMessages], self.pending[MaxNumberOfMessages:]
        return {"Messages": taken} if taken else {}

    def delete_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.deleted.extend(_message_id(entry["ReceiptHandle"]) for entry in Entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}

    def change_message_visibility_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.released.extend(_message_id(e["ReceiptHandle"]) for e in Entries if e["VisibilityTimeout"] == 0)
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self.refuse_dead_letters:
            return {"Failed": [{"Id": e["Id"], "Code": "ServiceUnavailable", "SenderFault": False} for e in Entries]}
        for entry in Entries:
            self.dead_letters.append((entry["MessageBody"], entry["MessageAttributes"], entry.get("MessageGroupId")))
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}


def _message_id(receipt_handle: str) -> str:
    return "m" + receipt_handle.removeprefix("r")
