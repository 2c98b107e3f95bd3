"""What does an Idempotency-Key cost a write?

POST /todos from concurrent clients against a real API, on SQLite and on PostgreSQL (a private
cluster), in alternating rounds: each request with a key of its own
(a primary-key read and one more insert in the write's transaction) and, as the reference,
without. Then the keyed requests sent again: answered from the stored keys, changing nothing.
Prints requests/s, p50 and p99 latency per kind (medians over the rounds) and the ratios. No
relay runs: what a key costs is in the API's transaction, and a relay draining the last round's
events would share the database with the next (bench.outbox_publishing measures the relay).
"""

from __future__ import annotations

import statistics
import uuid

from bench.load import LoadResult, run_clients
from tests.support.postgres import PostgresCluster
from tests.support.system import RunningSystem

CLIENTS = 8
REQUESTS_PER_CLIENT = 100
ROUNDS = 3
REFERENCE, NEW_KEYS, REPEATS = "without a key (reference)", "with a new key", "repeated with its key"


def post_todos(api_url: str, keys: list[str] | None) -> LoadResult:
    def send(session, n: int) -> bool:
        headers = {"Idempotency-Key": keys[n]} if keys is not None else {}
        body = {"title": "benchmark todo", "deadline_at": "2030-01-01T09:00:00"}
        return session.post(f"{api_url}/api/v1/todos", json=body, headers=headers, timeout=10).status_code == 201

    return run_clients(CLIENTS, REQUESTS_PER_CLIENT, send)


def measure(name: str, database_url: str | None) -> dict[str, list[LoadResult]]:
    runs: dict[str, list[LoadResult]] = {REFERENCE: [], NEW_KEYS: [], REPEATS: []}
    system = RunningSystem(f"bench-idempotency-keys-{name}", with_relay=False, database_url=database_url).start()
    try:
        post_todos(system.api_url, None)  # warm-up: connections, caches, gunicorn workers
        for round_number in range(ROUNDS):
            keys = [str(uuid.uuid4()) for _ in range(CLIENTS * REQUESTS_PER_CLIENT)]
            # Alternating which goes first, so neither always meets the larger table.
            kinds = [(REFERENCE, None), (NEW_KEYS, keys)]
            for label, round_keys in kinds if round_number % 2 == 0 else reversed(kinds):
                runs[label].append(post_todos(system.api_url, round_keys))
            runs[REPEATS].append(post_todos(system.api_url, keys))
    finally:
        system.stop()
    return runs


def report(database: str, runs: dict[str, list[LoadResult]]) -> None:
    for label, results in runs.items():
        print(
            f"{database:10s} {label:26s} {statistics.median(r.per_second for r in results):7.1f} req/s"
            f"  p50 {statistics.median(r.median for r in results):6.2f} ms"
            f"  p99 {statistics.median(r.percentile(99) for r in results):6.2f} ms"
            f"  errors {sum(r.errors for r in results)}"
        )
    reference = statistics.median(r.per_second for r in runs[REFERENCE])
    for label in (NEW_KEYS, REPEATS):
        ratio = statistics.median(r.per_second for r in runs[label]) / reference
        print(f"{database:10s} throughput {label} / without a key: {ratio:.3f}")


def main() -> None:
    print(
        f"== POST /api/v1/todos with and without Idempotency-Key:"
        f" {CLIENTS} clients x {REQUESTS_PER_CLIENT}, {ROUNDS} rounds, median round"
    )
    report("SQLite", measure("sqlite", None))
    cluster = PostgresCluster().start()
    try:
        report("PostgreSQL", measure("postgresql", cluster.url))
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
