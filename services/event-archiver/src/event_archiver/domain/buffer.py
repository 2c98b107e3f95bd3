"""The batch the archiver holds between flushes, and when it must be flushed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from event_archiver.domain.messages import ReceivedMessage
from taskoverflow_shared.event_archive import ArchiveEntry


@dataclass(frozen=True)
class HeldMessage:
    message: ReceivedMessage
    entry: ArchiveEntry


@dataclass
class ArchiveBuffer:
    """Up to `max_events` messages, held no longer than `max_age_seconds` (clock: monotonic seconds)."""

    max_events: int
    max_age_seconds: float
    held: list[HeldMessage] = field(default_factory=list)
    _oldest_at: float | None = None

    def add(self, message: HeldMessage, now: float) -> None:
        if not self.held:
            self._oldest_at = now
        self.held.append(message)

    @property
    def room(self) -> int:
        return max(self.max_events - len(self.held), 0)

    def is_due(self, now: float) -> bool:
        return bool(self.held) and (self.room == 0 or self.seconds_until_due(now) == 0)

    def seconds_until_due(self, now: float) -> float | None:
        """None while empty: nothing is waiting, so the next receive may wait as long as it likes."""
        if self._oldest_at is None:
            return None
        return max(self._oldest_at + self.max_age_seconds - now, 0.0)

    def receive_wait_seconds(self, now: float, longest: int) -> int:
        """How long the next long poll may wait without making the batch late by more than a second.

        SQS takes whole seconds; rounding up keeps idle polls few (a flush is at most ~1 s late).
        """
        remaining = self.seconds_until_due(now)
        if remaining is None:
            return longest
        return min(longest, math.ceil(remaining))

    def take(self) -> list[HeldMessage]:
        taken, self.held, self._oldest_at = self.held, [], None
        return taken
