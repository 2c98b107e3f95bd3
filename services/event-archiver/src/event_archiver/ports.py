"""The archiver's ports: the queue it drains and the store it writes. Adapters and test fakes implement them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from event_archiver.domain.messages import ReceivedMessage


class ArchiveQueue(Protocol):
    def receive(self, *, max_messages: int, wait_seconds: int) -> list[ReceivedMessage]:
        """Up to `max_messages` (≤ 10) messages, waiting up to `wait_seconds` for the first."""
        ...

    def delete(self, messages: Sequence[ReceivedMessage]) -> int:
        """Acknowledge `messages`; return how many deletes failed (those come back, as duplicates)."""
        ...

    def dead_letter(self, dead: Sequence[tuple[ReceivedMessage, str]]) -> None:
        """Move each message to the DLQ with its reason, then delete it here; raise if the DLQ refused."""
        ...

    def release(self, messages: Sequence[ReceivedMessage]) -> None:
        """Make `messages` visible again now, for another worker, instead of after the visibility timeout."""
        ...


class ArchiveStore(Protocol):
    def put(self, key: str, body: bytes) -> None:
        """Store one archive object durably, or raise."""
        ...
