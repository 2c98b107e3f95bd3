"""What became of a delivery and of a receive: the words the consumer's parts settle with."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final


class _Settled(enum.Enum):
    HANDLED = "handled"
    RETRY_LATER = "retry_later"
    WAIT_FOR_DEPENDENCY = "wait_for_dependency"


HANDLED: Final = _Settled.HANDLED
RETRY_LATER: Final = _Settled.RETRY_LATER
WAIT_FOR_DEPENDENCY: Final = _Settled.WAIT_FOR_DEPENDENCY


@dataclass(frozen=True)
class DeadLetter:
    reason: str


Outcome = _Settled | DeadLetter


@dataclass
class PollResult:
    """What one receive did (in batch mode, with the flush it made due), for tests and metrics."""

    handled: int = 0
    dead_lettered: int = 0
    failed: int = 0
    released: int = 0
    held: int = 0

    @property
    def received(self) -> int:
        return self.handled + self.dead_lettered + self.failed + self.released + self.held
