"""The issuer's documents kept: fetched once while fresh, failures remembered with a back-off,
and never fetched by two callers at once (a fake fetch and clock: no network, no sleeps)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from todo_api.adapters.issuer_documents import CachedIssuerDocument, IssuerUnavailable

URL = "https://issuer.example/jwks.json"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeIssuer:
    """Answers `document`, or fails while `failing`; `hold` keeps a fetch waiting until released."""

    def __init__(self) -> None:
        self.fetches = 0
        self.failing = False
        self.document: dict[str, Any] = {"keys": [], "version": 1}
        self.hold: threading.Event | None = None
        self.entered = threading.Event()

    def __call__(self, url: str, timeout_seconds: float) -> dict[str, Any]:
        self.fetches += 1
        self.entered.set()
        if self.hold is not None:
            assert self.hold.wait(10)
        if self.failing:
            raise IssuerUnavailable(f"{url}: connection refused")
        return dict(self.document)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


@pytest.fixture
def cached(issuer, clock) -> CachedIssuerDocument:
    return CachedIssuerDocument(URL, fresh_seconds=300, fetch=issuer, clock=clock)


def test_a_fresh_document_is_not_fetched_again(cached, issuer, clock):
    assert cached.get()["version"] == 1
    clock.now += 299
    assert cached.get()["version"] == 1
    assert issuer.fetches == 1
    issuer.document["version"] = 2
    clock.now += 1
    assert cached.get()["version"] == 2
    assert issuer.fetches == 2


def test_a_caller_that_knows_better_fetches_early_but_not_within_the_age_it_gives(cached, issuer, clock):
    cached.get()
    clock.now += 10
    cached.get(max_age_seconds=30)
    assert issuer.fetches == 1
    clock.now += 20
    cached.get(max_age_seconds=30)
    assert issuer.fetches == 2


def test_a_failure_is_remembered_and_retried_after_a_growing_back_off(cached, issuer, clock):
    issuer.failing = True
    for _ in range(20):
        with pytest.raises(IssuerUnavailable, match="connection refused"):
            cached.get()
    assert issuer.fetches == 1
    clock.now += 1
    with pytest.raises(IssuerUnavailable):
        cached.get()
    assert issuer.fetches == 2
    clock.now += 1.5  # the back-off has doubled to 2 s
    with pytest.raises(IssuerUnavailable):
        cached.get()
    assert issuer.fetches == 2
    clock.now += 0.5
    issuer.failing = False
    assert cached.get()["version"] == 1
    assert issuer.fetches == 3


def test_the_back_off_stops_growing_at_a_minute(cached, issuer, clock):
    issuer.failing = True
    for _ in range(12):
        with pytest.raises(IssuerUnavailable):
            cached.get()
        clock.now += 3600
    assert issuer.fetches == 12
    clock.now -= 3600 - 59.9
    with pytest.raises(IssuerUnavailable):
        cached.get()
    assert issuer.fetches == 12
    clock.now += 0.1
    with pytest.raises(IssuerUnavailable):
        cached.get()
    assert issuer.fetches == 13


def test_a_stale_document_is_served_while_the_issuer_fails(cached, issuer, clock):
    cached.get()
    issuer.failing = True
    clock.now += 301
    assert cached.get()["version"] == 1
    assert cached.get()["version"] == 1
    assert issuer.fetches == 2


def test_while_one_caller_fetches_the_others_are_answered_at_once(cached, issuer):
    issuer.hold = threading.Event()
    fetching = threading.Thread(target=cached.get)
    fetching.start()
    assert issuer.entered.wait(10)
    for _ in range(16):
        with pytest.raises(IssuerUnavailable, match="being fetched"):
            cached.get()
    issuer.hold.set()
    fetching.join(10)
    assert cached.get()["version"] == 1
    assert issuer.fetches == 1


def test_while_a_refresh_runs_the_others_get_the_document_they_had(cached, issuer, clock):
    cached.get()
    clock.now += 301
    issuer.hold = threading.Event()
    issuer.entered.clear()
    issuer.document["version"] = 2
    refreshing = threading.Thread(target=cached.get)
    refreshing.start()
    assert issuer.entered.wait(10)
    assert cached.get()["version"] == 1
    issuer.hold.set()
    refreshing.join(10)
    assert cached.get()["version"] == 2
    assert issuer.fetches == 2
