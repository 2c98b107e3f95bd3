"""What does publishing every write through the outbox cost the API?

POST /todos from concurrent clients against the real system twice in one run: with the relay
publishing to SNS (moto server) and, as the reference, with no relay. Prints requests/s, p50 and
p99 latency, the ratio, and the outbox lag the relay kept (per event: published_at - created_at).
"""

from __future__ import annotations

import sqlite3
import statistics
from datetime import datetime

from bench.load import LoadResult, run_clients
from bench.process_cpu import cpu_seconds, descendants
from tests.support.moto import wait_until
from tests.support.system import RunningSystem

CLIENTS = 8
REQUESTS_PER_CLIENT = 250
ROUNDS = 3


def post_todos(api_url: str) -> LoadResult:
    def send(session, n: int) -> bool:
        body = {"title": f"benchmark todo {n}", "deadline_at": "2030-01-01T09:00:00"}
        return session.post(f"{api_url}/api/v1/todos", json=body, timeout=10).status_code == 201

    run_clients(CLIENTS, 20, send)  # warm-up: connections, caches, gunicorn workers
    return run_clients(CLIENTS, REQUESTS_PER_CLIENT, send)


def outbox_lags_seconds(system: RunningSystem) -> list[float]:
    database = system.directory / "todo-api.sqlite3"

    def all_published() -> bool:
        with sqlite3.connect(database) as connection:
            return connection.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0] == 0

    wait_until(all_published, timeout=600, interval=0.2, message="the relay to drain the outbox")
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT created_at, published_at FROM outbox").fetchall()
    return [(datetime.fromisoformat(p) - datetime.fromisoformat(c)).total_seconds() for c, p in rows]


def measure(with_relay: bool) -> tuple[LoadResult, list[float], dict[str, float]]:
    """One load run; also the CPU seconds each process spent from the load's start to a drained outbox."""
    system = RunningSystem(f"bench-outbox-{'relay' if with_relay else 'reference'}", with_relay=with_relay).start()
    try:
        roots = {name: process.pid for name, process in system.processes.items()}
        roots["moto"] = system.emulator_server.process.pid
        groups = {name: descendants([pid]) for name, pid in roots.items()}
        before = {name: sum(cpu_seconds(pids).values()) for name, pids in groups.items()}
        result = post_todos(system.api_url)
        lags = outbox_lags_seconds(system) if with_relay else []
        cpu = {name: sum(cpu_seconds(pids).values()) - before[name] for name, pids in groups.items()}
    finally:
        system.stop()
    return result, lags, cpu


def main() -> None:
    print(f"== POST /api/v1/todos: {CLIENTS} clients x {REQUESTS_PER_CLIENT} requests, {ROUNDS} rounds, median round")
    runs: dict[bool, list[LoadResult]] = {True: [], False: []}
    lags: list[float] = []
    cpu_per_event: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        for with_relay in (False, True):
            result, round_lags, cpu = measure(with_relay)
            runs[with_relay].append(result)
            lags.extend(round_lags)
            if with_relay:
                for name, seconds in cpu.items():
                    cpu_per_event.setdefault(name, []).append(seconds / result.requests * 1000)
    for with_relay, label in ((False, "reference (no publishing)"), (True, "outbox relay publishing")):
        results = runs[with_relay]
        print(
            f"{label:28s} {statistics.median(r.per_second for r in results):8.1f} req/s"
            f"  p50 {statistics.median(r.median for r in results):6.2f} ms"
            f"  p99 {statistics.median(r.percentile(99) for r in results):6.2f} ms"
            f"  errors {sum(r.errors for r in results)}"
        )
    ratio = statistics.median(r.per_second for r in runs[True]) / statistics.median(r.per_second for r in runs[False])
    print(f"throughput with publishing / without: {ratio:.3f} (goal >= 0.90)")
    lags.sort()
    print(
        f"outbox lag over {len(lags)} events: median {statistics.median(lags) * 1000:.0f} ms,"
        f" p99 {lags[int(0.99 * (len(lags) - 1))] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms (goal < 1000 ms)"
    )
    shares = ", ".join(f"{name} {statistics.median(values):.2f}" for name, values in sorted(cpu_per_event.items()))
    print(f"CPU ms per written todo, load start to drained outbox (median round): {shares}")


if __name__ == "__main__":
    main()
