"""The consumer loop's batch mode: what it holds between receives, and when the batch is due.

Powertools' BatchProcessor hands a Lambda batch to a handler and reports which records failed,
so only the others are deleted. Our batch mode does the same across receives, as a Lambda
batching window gathers a batch: messages are decoded as they arrive (one that cannot be
decoded goes to the DLQ at once), held until `max_messages` are held or the oldest is
`max_age_seconds` old, then handed to `handle` together. `handle` returns the ids of the
messages it failed (or raises: all failed); the loop deletes the rest and lets the failed ones
come back after the visibility timeout. A consumer that writes one object per batch rather
than one per event (the event-archiver) rides the same loop as everyone else.

Pure: no I/O here; the loop (sqs_consumer/batching.py) receives, dead-letters and deletes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from taskoverflow_shared.events import Envelope

Item = TypeVar("Item")


@dataclass(frozen=True)
class HeldMessage(Generic[Item]):
    """A received message (as ReceiveMessage returned it) and what `decode` made of it."""

    message: dict[str, Any]
    item: Item

    @property
    def message_id(self) -> str:
        message_id: str = self.message["MessageId"]
        return message_id


@dataclass(frozen=True)
class BatchMode(Generic[Item]):
    """How a consumer in batch mode decodes, gathers and handles its messages."""

    # Raises UnprocessableEvent for a message that can never be handled: it goes to the DLQ.
    decode: Callable[[dict[str, Any]], Item]
    # Returns the ids of the messages it failed; raising fails the whole batch.
    handle: Callable[[Sequence[HeldMessage[Item]]], Collection[str]]
    max_messages: int
    max_age_seconds: float
    # The envelope an item carries: the loop checks its `source` as it does every event's.
    envelope_of: Callable[[Item], Envelope]


@dataclass
class HeldBatch(Generic[Item]):
    """Up to `max_messages` messages, held no longer than `max_age_seconds` (clock: monotonic seconds)."""

    max_messages: int
    max_age_seconds: float
    held: list[HeldMessage[Item]] = field(default_factory=list)
    _oldest_at: float | None = None

    def add(self, message: HeldMessage[Item], now: float) -> None:
        if not self.held:
            self._oldest_at = now
        self.held.append(message)

    @property
    def room(self) -> int:
        return max(self.max_messages - len(self.held), 0)

    def is_due(self, now: float) -> bool:
        return bool(self.held) and (self.room == 0 or self.seconds_until_due(now) == 0)

    def seconds_until_due(self, now: float) -> float | None:
        """None while empty: nothing is waiting, so the next receive may wait as long as it likes."""
        if self._oldest_at is None:
            return None
        return max(self._oldest_at + self.max_age_seconds - now, 0.0)

    def receive_wait_seconds(self, now: float, longest: int) -> int:
        """How long the next long poll may wait without making the batch late by more than a second.

        SQS takes whole seconds; rounding up keeps idle polls few (a batch is at most ~1 s late).
        """
        remaining = self.seconds_until_due(now)
        if remaining is None:
            return longest
        return min(longest, math.ceil(remaining))

    def take(self) -> list[HeldMessage[Item]]:
        taken, self.held, self._oldest_at = self.held, [], None
        return taken
