"""A small closed-loop HTTP load generator: N clients, each sending its next request when the last returns."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms)


def run_clients(clients: int, requests_per_client: int, send: Callable[[requests.Session, int], bool]) -> LoadResult:
    """`send(session, n)` makes one request and returns whether it succeeded."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def client(index: int) -> None:
        nonlocal errors
        session = requests.Session()
        own: list[float] = []
        own_errors = 0
        for n in range(requests_per_client):
            started = time.perf_counter()
            ok = send(session, index * requests_per_client + n)
            own.append((time.perf_counter() - started) * 1000)
            own_errors += not ok
        with lock:
            latencies.extend(own)
            errors += own_errors

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(clients * requests_per_client, errors, time.perf_counter() - started, latencies)
