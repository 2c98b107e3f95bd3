"""A hung or failing token issuer costs the API's other requests nothing.

The API runs as in production (gunicorn, 2 workers of 4 threads); the issuer is a stub over
real HTTP that holds every request it gets, or fails each at once, and counts them. The API
keeps what it fetched, remembers failures, and fetches each document once at a time, so a
burst of requests that need the issuer neither piles up fetches nor holds the threads
`/health` and everyone else need.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
import requests

from tests.support.moto import wait_until
from tests.support.oidc_issuer import new_signing_key
from tests.support.system import RunningSystem

BURST = 16
# Generous: a healthy answer takes milliseconds; the stall this guards against was 10 s.
HEALTH_ANSWER_SECONDS = 3.0
API_WORKERS = 2


class StubIssuer:
    """An issuer that holds each request until released (`hang`), or answers 500 (`fail`)."""

    def __init__(self) -> None:
        self.mode = "hang"
        self.fetches: Counter[str] = Counter()
        self.release = threading.Event()
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with stub._lock:
                    stub.fetches[self.path] += 1
                if stub.mode == "hang":
                    stub.release.wait(60)
                    return
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def count(self, path_suffix: str) -> int:
        with self._lock:
            return sum(n for path, n in self.fetches.items() if path.endswith(path_suffix))

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def issuer() -> Iterator[StubIssuer]:
    stub = StubIssuer()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def system(issuer) -> Iterator[RunningSystem]:
    settings = {"AUTH_JWKS_URL": f"{issuer.url}/jwks.json", "AUTH_ISSUER": issuer.url, "AUTH_AUDIENCE": "web-page"}
    system = RunningSystem("e2e-slow-issuer", with_relay=False, api_workers=API_WORKERS, extra_env=settings).start()
    yield system
    system.stop()


def _a_token() -> str:
    return jwt.encode({"sub": "someone", "exp": int(time.time()) + 600}, new_signing_key(), "RS256", {"kid": "k1"})


def _burst(api: str) -> list[requests.Response]:
    """Half the burst reads the sign-in config (discovery), half sends a token (JWKS)."""
    token = _a_token()

    def one(n: int) -> requests.Response:
        if n % 2:
            return requests.get(f"{api}/auth-config", timeout=30)
        return requests.get(f"{api}/todos", headers={"Authorization": f"Bearer {token}"}, timeout=30)

    with ThreadPoolExecutor(BURST) as pool:
        return list(pool.map(one, range(BURST)))


def test_health_answers_while_a_burst_waits_on_a_hung_issuer(system, issuer):
    api = f"{system.api_url}/api/v1"
    issuer.mode = "hang"
    with ThreadPoolExecutor(1) as background:
        burst = background.submit(_burst, api)
        wait_until(lambda: issuer.count("/jwks.json") and issuer.count("/openid-configuration"), timeout=30)
        for _ in range(5):
            started = time.monotonic()
            health = requests.get(f"{api}/health", timeout=30)
            assert health.status_code == 200
            assert time.monotonic() - started < HEALTH_ANSWER_SECONDS
        answers = burst.result(timeout=60)
    # Each process fetched each document once; every other request was answered without waiting.
    assert issuer.count("/jwks.json") <= API_WORKERS
    assert issuer.count("/openid-configuration") <= API_WORKERS
    for answer in answers:
        if answer.url.endswith("/auth-config"):
            assert answer.status_code == 200
            assert answer.json()["enabled"] is True
            assert "token_endpoint" not in answer.json()
        else:
            assert answer.status_code == 503
            assert answer.headers["Retry-After"]
            assert set(answer.json()) == {"error"}


def test_a_failing_issuer_is_not_asked_again_for_every_request(system, issuer):
    api = f"{system.api_url}/api/v1"
    issuer.mode = "fail"
    issuer.release.set()  # what the hung issuer still held now ends
    before = issuer.count("")
    for _ in range(3):
        _burst(api)
    # 48 requests, a few seconds: a fetch or a few per process and document, as the back-off allows.
    assert issuer.count("") - before <= 3 * 2 * API_WORKERS
