"""The retry policy: transient errors are retried up to the attempts and the deadline, nothing else."""

import time

import pytest

from notifier.adapters.retry import RetryPolicy, TransientDeliveryError

QUICK = RetryPolicy(max_attempts=4, initial_backoff_seconds=0.001, max_backoff_seconds=0.002)


def failing(times: int, calls: list[int]):
    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise TransientDeliveryError("HTTP 503")
        return "ok"

    return attempt


def test_transient_failures_are_retried_until_success():
    calls: list[int] = []
    assert QUICK.run(failing(2, calls), deadline=time.monotonic() + 5) == "ok"
    assert len(calls) == 3


def test_it_gives_up_after_the_last_attempt_and_re_raises():
    calls: list[int] = []
    with pytest.raises(TransientDeliveryError, match="503"):
        QUICK.run(failing(10, calls), deadline=time.monotonic() + 5)
    assert len(calls) == 4


def test_a_passed_deadline_still_allows_the_first_attempt_but_no_retry():
    calls: list[int] = []
    with pytest.raises(TransientDeliveryError):
        QUICK.run(failing(10, calls), deadline=time.monotonic() - 1)
    assert len(calls) == 1


def test_no_retry_would_sleep_past_the_deadline():
    slow = RetryPolicy(max_attempts=10, initial_backoff_seconds=0.2, max_backoff_seconds=0.2)
    calls: list[int] = []
    started = time.monotonic()
    with pytest.raises(TransientDeliveryError):
        slow.run(failing(100, calls), deadline=started + 0.5)
    assert time.monotonic() - started < 0.5
    assert 1 <= len(calls) < 10


def test_other_exceptions_are_not_retried():
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        QUICK.run(broken, deadline=time.monotonic() + 5)
    assert len(calls) == 1
