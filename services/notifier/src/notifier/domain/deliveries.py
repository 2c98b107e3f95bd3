"""What came of one delivery attempt to one target, whatever the channel."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from notifier.domain.subscriptions import redact_url


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    # Retrying later may help: 5xx, timeouts, connection errors, SMTP 4xx.
    TRANSIENT_FAILURE = "transient_failure"
    # Retrying the same bytes cannot help: 3xx/4xx, SMTP 5xx, a refused address, a bad recipient.
    PERMANENT_FAILURE = "permanent_failure"


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Outcome
    detail: str
    attempts: int

    @classmethod
    def delivered(cls, detail: str, attempts: int) -> DeliveryResult:
        return cls(Outcome.DELIVERED, detail, attempts)

    @classmethod
    def transient(cls, detail: str, attempts: int) -> DeliveryResult:
        return cls(Outcome.TRANSIENT_FAILURE, detail, attempts)

    @classmethod
    def permanent(cls, detail: str, attempts: int) -> DeliveryResult:
        return cls(Outcome.PERMANENT_FAILURE, detail, attempts)


def redact_target(target: str) -> str:
    """A delivery target fit for logs and DLQ reasons: no URL credentials or query, no full e-mail."""
    if target.startswith("mailto:"):
        local, _, domain = target.removeprefix("mailto:").rpartition("@")
        return f"mailto:{local[:1]}***@{domain}"
    return redact_url(target)
