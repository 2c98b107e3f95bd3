"""Which AWS failures are worth trying again: botocore's own standard retry rules, asked after
the client's retries ran out.

A caller that keeps work for later (the outbox relay) waits out what botocore would retry —
connection errors, timeouts, 5xx answers, throttling — and gives up on the rest (access denied,
a missing bucket, a parameter AWS refuses), which no amount of waiting fixes.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from botocore.retries.standard import OrRetryChecker, RetryContext, ThrottledRetryableChecker, TransientRetryableChecker

# The rules of botocore's standard mode that need no operation model (5xx, connection errors and
# timeouts, the throttling codes), plus a bare 429: the client already made its own attempts, so
# only the kind of failure matters here.
_RETRYABLE = OrRetryChecker(
    [TransientRetryableChecker(transient_status_codes=[429, 500, 502, 503, 504]), ThrottledRetryableChecker()]
)


@dataclass(frozen=True)
class _StatusOnly:
    """The one part of an HTTP response botocore's rules read."""

    status_code: int


def is_retryable(error: BaseException) -> bool:
    """Whether AWS (or the way to it) may well accept the same request later."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        context = RetryContext(
            attempt_number=1,
            parsed_response=error.response,
            http_response=_StatusOnly(status) if isinstance(status, int) else None,
        )
        return bool(_RETRYABLE.is_retryable(context))
    if isinstance(error, BotoCoreError):
        return bool(_RETRYABLE.is_retryable(RetryContext(attempt_number=1, caught_exception=error)))
    return False
