"""Walk a queue to its end without consuming it, then give back what was not settled.

`dlq list` and `dlq redrive` read a whole queue in one pass: a listing keeps everything it peeked
at, a redrive keeps the messages it skips. Each message is received with a visibility timeout long
enough for the whole walk, so it cannot reappear and be counted twice; when the walk ends (or
fails, or is interrupted) everything still held is made visible again at once.

A walk covers the messages sent before it began. A redriven message that fails again comes back
to the DLQ as a new message while the redrive still runs; taking it too would move it round for
as long as its consumer keeps refusing it (it did, endlessly, against LocalStack's fast consumers).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import structlog

from taskoverflow_shared.sqs_batches import SQS_BATCH_LIMIT, change_visibility_in_batches

# Long enough for a scan of a few thousand messages; SQS allows up to 12 hours.
DEFAULT_SCAN_VISIBILITY_SECONDS = 15 * 60
# Short polls would sample only some SQS servers and may answer empty while messages wait;
# a one-second long poll asks them all and still ends a scan quickly.
DEFAULT_WAIT_SECONDS = 1
# How many receives in a row may bring nothing new before the walk ends, when the queue
# still reports visible messages (its counts are approximate).
EMPTY_RECEIVES_TO_STOP = 2

log = structlog.get_logger("taskoverflow.operations")


def approximate_depth(sqs: Any, queue_url: str) -> int:
    """Messages visible in the queue now, as SQS estimates them."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


@dataclass
class QueueScan:
    """Receive every message of a queue once, holding them invisible until `release()`.

    Use it as a context manager: leaving the block releases whatever is still held, so an
    error or Ctrl-C does not hide a queue's messages for the whole visibility timeout.
    Call `settle()` for messages the caller deleted, so they are not released. Messages sent
    after `started_ms` (the scan's creation, in SQS's SentTimestamp milliseconds) are held but
    never handed out.
    """

    sqs: Any
    queue_url: str
    visibility_timeout_seconds: int = DEFAULT_SCAN_VISIBILITY_SECONDS
    wait_seconds: int = DEFAULT_WAIT_SECONDS
    started_ms: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    released: int = field(default=0, init=False)
    _held: dict[str, str] = field(default_factory=dict, init=False)
    _seen: set[str] = field(default_factory=set, init=False)
    _empty_receives: int = field(default=0, init=False)
    _exhausted: bool = field(default=False, init=False)

    def next_batch(self, max_messages: int = SQS_BATCH_LIMIT) -> list[dict[str, Any]] | None:
        """Up to `max_messages` messages not received before in this scan; None once the queue is done."""
        while not self._exhausted:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max(1, min(max_messages, SQS_BATCH_LIMIT)),
                WaitTimeSeconds=self.wait_seconds,
                VisibilityTimeout=self.visibility_timeout_seconds,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount", "MessageGroupId"],
            )
            new = []
            for message in response.get("Messages", []):
                # A message seen before came back because the scan outlived its visibility
                # timeout: keep its newest receipt handle (only that one can release it).
                self._held[message["MessageId"]] = message["ReceiptHandle"]
                if message["MessageId"] not in self._seen:
                    self._seen.add(message["MessageId"])
                    if not self._sent_after_start(message):
                        new.append(message)
            if new:
                self._empty_receives = 0
                return new
            self._empty_receives += 1
            if self._empty_receives >= EMPTY_RECEIVES_TO_STOP or approximate_depth(self.sqs, self.queue_url) == 0:
                self._exhausted = True
        return None

    def _sent_after_start(self, message: dict[str, Any]) -> bool:
        sent = message.get("Attributes", {}).get("SentTimestamp")
        return sent is not None and int(sent) > self.started_ms

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        """Every batch until the queue is done."""
        while (batch := self.next_batch()) is not None:
            yield batch

    def settle(self, messages: list[dict[str, Any]]) -> None:
        """Forget messages the caller deleted: there is nothing left to release."""
        for message in messages:
            self._held.pop(message["MessageId"], None)

    def release(self) -> int:
        """Make every held message visible again now; return how many were released."""
        handles = list(self._held.values())
        self._held.clear()
        for failure in change_visibility_in_batches(self.sqs, self.queue_url, handles, 0):
            # Not fatal: that message becomes visible anyway when its visibility timeout ends.
            log.warning("release_failed", queue_url=self.queue_url, failure=failure)
        self.released += len(handles)
        return len(handles)

    def __enter__(self) -> QueueScan:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
