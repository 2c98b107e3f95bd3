"""The calendar pipeline, measured on the real system (emulator, API, relay, consumers, workers).

1. POST /todos/ical latency at 100, 10k and 100k todos, against POST /todos on the same database
   (the reference: a plain write of one row and one outbox event).
2. 20 jobs over 5000 todos from one client, one todo changed between jobs: CPU seconds per job of
   our six services (from /proc; the emulator, the dev sinks and this load generator excluded)
   and AWS API calls per job (counted by every process's boto3 clients).
`make bench` follows it with bench.pipeline_comparison: 200 jobs over 100 todos from 8 clients,
ours side by side with the original design (Flask + Celery + Redis, icalendar).
"""

from __future__ import annotations

from collections import Counter

import requests

from bench.calendar_jobs import bench_todos, fetch_calendar
from bench.load import LoadResult, run_clients
from bench.pipeline_comparison import OUR_SERVICES, start_our_system
from bench.process_cpu import cpu_seconds, descendants
from tests.support.moto import wait_until
from tests.support.system import RunningSystem


def request_latency(system: RunningSystem, sizes: list[int]) -> None:
    print("-- POST /todos/ical latency vs POST /todos (reference), 4 clients x 50 requests each")
    inserted = 0
    for size in sizes:
        system.insert_todos(bench_todos(inserted, size - inserted))
        inserted = size

        def ical(session, n):
            return session.post(f"{system.api_url}/api/v1/todos/ical", timeout=30).status_code == 202

        def todo(session, n):
            return (
                session.post(f"{system.api_url}/api/v1/todos", json={"title": f"ref {n}"}, timeout=30).status_code
                == 201
            )

        reference, measured = run_clients(4, 50, todo), run_clients(4, 50, ical)
        print(
            f"{size:>7} todos: ical p50 {measured.median:6.2f} ms p99 {measured.percentile(99):6.2f} ms"
            f" | reference p50 {reference.median:6.2f} ms p99 {reference.percentile(99):6.2f} ms"
            f" | ratio p50 {measured.median / reference.median:.2f}"
            f" p99 {measured.percentile(99) / reference.percentile(99):.2f}"
            f" | errors {measured.errors + reference.errors}"
        )
        wait_until(lambda: _outbox_drained(system), timeout=600, interval=0.5, message="the relay to drain")


def _outbox_drained(system: RunningSystem) -> bool:
    return requests.get(f"{system.api_url}/api/v1/health", timeout=30).json()["outbox_lag_seconds"] == 0


def jobs_run(
    label: str, todo_count: int, clients: int, jobs_per_client: int, change_between: bool = False
) -> LoadResult:
    system, _ = start_our_system(f"bench-pipeline-{label}")
    try:
        system.insert_todos(bench_todos(0, todo_count))
        fetch_calendar(requests.Session(), system.api_url)  # warm-up: imports, connections, caches
        pids = descendants([system.processes[name].pid for name in OUR_SERVICES])
        cpu_before = cpu_seconds(pids)

        def send(session, n):
            if change_between:
                session.put(f"{system.api_url}/api/v1/todos/{1 + n % todo_count}", json={"title": f"changed {n}"})
            return fetch_calendar(session, system.api_url) is not None

        result = run_clients(clients, jobs_per_client, send)
        cpu_after = cpu_seconds(pids)
    finally:
        system.stop()
    jobs = result.requests
    cpu = sum(cpu_after.get(pid, 0) - cpu_before.get(pid, 0) for pid in cpu_before)
    calls = Counter()
    for process, counts in system.aws_calls().items():
        if process in OUR_SERVICES:
            calls.update(counts)
    print(
        f"{label}: {jobs} jobs, {result.per_second:.1f} jobs/s, POST→result p50 {result.median:.0f} ms"
        f" p95 {result.percentile(95):.0f} ms p99 {result.percentile(99):.0f} ms, errors {result.errors}"
    )
    print(f"   CPU of our six services: {cpu / jobs * 1000:.1f} ms per job")
    per_job = {op: round(n / (jobs + 1), 2) for op, n in sorted(calls.items())}
    print(f"   AWS calls per job (incl. warm-up job and start-up): {sum(calls.values()) / (jobs + 1):.2f} {per_job}")
    return result


def main() -> None:
    print(__doc__.splitlines()[0])
    system, emulator = start_our_system("bench-pipeline-latency", with_sinks=False)
    print(f"-- on {emulator}")
    try:
        request_latency(system, [100, 10_000, 100_000])
    finally:
        system.stop()
    print("-- end to end, 5000 todos, one changed between jobs")
    jobs_run("5000-todos-changing", 5000, clients=1, jobs_per_client=20, change_between=True)


if __name__ == "__main__":
    main()
