"""Retries with exponential backoff and full jitter (tenacity), bounded by attempts and a deadline.

Both channels retry only what may heal by itself (5xx, timeouts, dropped connections, SMTP 4xx).
The deadline is shared by every target of one event, so handling an event stays well inside the
queue's visibility timeout however many targets are down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)

T = TypeVar("T")

log = structlog.get_logger("notifier.retry")


class TransientDeliveryError(Exception):
    """An attempt failed in a way a later attempt may not: raise it to be retried."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    initial_backoff_seconds: float = 0.5
    max_backoff_seconds: float = 8.0

    def run(self, attempt: Callable[[], T], *, deadline: float, clock: Callable[[], float] = time.monotonic) -> T:
        """Call `attempt` until it returns; re-raise its last TransientDeliveryError when out of tries.

        The first attempt always happens, even past the deadline, so one dead target cannot
        starve the others of theirs.
        """

        def would_pass_deadline(state: RetryCallState) -> bool:
            # tenacity computes the upcoming sleep before asking whether to stop.
            return clock() + state.upcoming_sleep >= deadline

        def before_sleep(state: RetryCallState) -> None:
            log.warning(
                "delivery_retry_scheduled",
                attempt=state.attempt_number,
                sleep_seconds=round(state.upcoming_sleep, 3),
                error=str(state.outcome.exception()) if state.outcome else None,
            )

        retrying = Retrying(
            stop=stop_any(stop_after_attempt(self.max_attempts), would_pass_deadline),
            # Full jitter: a random wait in [0, min(max, initial * 2**n)], so retries from many
            # workers to one recovering receiver do not arrive in lockstep.
            wait=wait_random_exponential(multiplier=self.initial_backoff_seconds, max=self.max_backoff_seconds),
            retry=retry_if_exception_type(TransientDeliveryError),
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)
