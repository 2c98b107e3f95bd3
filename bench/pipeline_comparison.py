"""Our calendar pipeline side by side with the original design, driven by one harness in one run.

The harness: 100 todos, 200 jobs from 8 clients; each client POSTs /api/v1/todos/ical,
polls the task_url every 50 ms until SUCCESS or FAILURE, then GETs the result (text/calendar).
A job is timed from the POST until its calendar is downloaded.

- Ours: the whole `make run` system (API, relay, API consumer, ical-worker, notifier delivering
  to a webhook sink and an SMTP sink, event-archiver) on the emulator BENCH_EMULATOR names.
- Reference: bench/reference_design — Flask + SQLAlchemy/SQLite, one Celery task carrying every
  todo, a prefork Celery worker rendering with icalendar, Redis as broker and result backend.

CPU per job is read from /proc for each process tree, from after one warm-up job until the system
has handled everything the jobs caused (our notifier and archiver may still be at work when the
last calendar is downloaded; the reference has no such tail). The compared totals are our six
services against the reference's web + worker; the dev sinks, the emulator, redis and this load
generator are reported apart. AWS calls are counted by our processes' boto3 clients, which write
them at exit, so they include start-up and the warm-up job.

    python -m bench bench.pipeline_comparison        (make bench BENCH=bench.pipeline_comparison)
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import requests

from bench.calendar_jobs import PollCounter, bench_todos, fetch_calendar
from bench.comparison_table import Comparison, markdown_table, side_by_side
from bench.load import LoadResult, run_clients
from bench.process_cpu import cpu_spent, tree_cpu_seconds
from bench.reference_design.running import RunningReference
from tests.support.system import SINKS, RunningSystem, dev_env_settings

TODOS, CLIENTS, JOBS_PER_CLIENT = 100, 8, 25
EVENTS_PER_CALENDAR = sum(1 for _, _, deadline in bench_todos(0, TODOS) if deadline)
OUR_SERVICES = ("api", "relay", "api-consumer", "ical-worker", "notifier", "event-archiver")
REFERENCE_PROCESSES = ("web", "worker")
# Traces as `make run` writes them (dev.env), a shell's own setting winning as it does there: what
# a job costs as shipped. TRACES_DIRECTORY is relative, so the spans land in the run's artifacts.
OBSERVABILITY = ("OTEL_TRACES_EXPORTER", "TRACES_DIRECTORY", "OTEL_TRACES_SAMPLER_ARG", "OTEL_BSP_SCHEDULE_DELAY")


def make_run_observability() -> dict[str, str]:
    return {name: os.environ.get(name, value) for name, value in dev_env_settings(*OBSERVABILITY).items()}


def start_our_system(name: str, *, with_sinks: bool = True) -> tuple[RunningSystem, str]:
    """Our system on the emulator BENCH_EMULATOR names: LocalStack (`make run`'s) by default."""
    emulator = os.environ.get("BENCH_EMULATOR", "localstack")
    system = RunningSystem(
        name, with_sinks=with_sinks, emulator=emulator, count_aws_calls=True, extra_env=make_run_observability()
    )
    return system.start(), emulator


def emulator_pid(system: RunningSystem) -> int:
    return system.emulator_server.process.pid


def our_process_groups(system: RunningSystem) -> dict[str, list[int]]:
    """The root pid of each process group measured: our services, the dev sinks, the emulator."""
    groups = {name: [system.processes[name].pid] for name in (*OUR_SERVICES, *SINKS) if name in system.processes}
    groups["emulator"] = [emulator_pid(system)]
    return groups


@dataclass
class JobsRun:
    """The job phase of one system: its load result and the CPU each process group spent meanwhile."""

    load: LoadResult
    polls: int
    cpu_seconds: dict[str, float]
    load_generator_cpu_seconds: float
    settle_seconds: float

    @property
    def jobs(self) -> int:
        return self.load.requests

    def cpu_ms_per_job(self, *groups: str) -> float:
        return sum(self.cpu_seconds[group] for group in groups) / self.jobs * 1000


def run_jobs(
    api_url: str,
    process_groups: Mapping[str, list[int]],
    settle: Callable[[], None] = lambda: None,
    *,
    clients: int = CLIENTS,
    jobs_per_client: int = JOBS_PER_CLIENT,
    during_jobs: AbstractContextManager[object] | None = None,
) -> JobsRun:
    """The harness on one running system; `process_groups` names the root pids whose trees are
    measured, `settle` waits until the work the jobs caused is done, `during_jobs` (a profiler)
    is entered after the warm-up job and left once the jobs' work is done."""
    warm_up = fetch_calendar(requests.Session(), api_url)  # imports, connections, caches
    if warm_up is None or warm_up.count("BEGIN:VEVENT") != EVENTS_PER_CALENDAR:
        raise RuntimeError(f"the warm-up job did not return a calendar of {EVENTS_PER_CALENDAR} events")
    settle()
    polls = PollCounter()
    with during_jobs or nullcontext():
        before = {name: tree_cpu_seconds(pids) for name, pids in process_groups.items()}
        own_before = time.process_time()
        load = run_clients(
            clients, jobs_per_client, lambda session, n: fetch_calendar(session, api_url, polls) is not None
        )
        own_after = time.process_time()
        settle_started = time.perf_counter()
        settle()
        settle_seconds = time.perf_counter() - settle_started
        after = {name: tree_cpu_seconds(pids) for name, pids in process_groups.items()}
    return JobsRun(
        load=load,
        polls=polls.count,
        cpu_seconds={name: cpu_spent(before[name], after[name]) for name in process_groups},
        load_generator_cpu_seconds=own_after - own_before,
        settle_seconds=settle_seconds,
    )


def measure_ours() -> tuple[JobsRun, str, dict[str, dict[str, int]]]:
    system, emulator = start_our_system("bench-pipeline-ours")
    try:
        system.insert_todos(bench_todos(0, TODOS))
        run = run_jobs(system.api_url, our_process_groups(system), settle=system.wait_until_idle)
    finally:
        system.stop()
    return run, emulator, system.aws_calls()


def measure_reference() -> tuple[JobsRun, str]:
    reference = RunningReference("bench-pipeline-reference").start(bench_todos(0, TODOS))
    try:
        groups = {name: [process.pid] for name, process in reference.processes.items()}
        run = run_jobs(reference.api_url, groups)
    finally:
        reference.stop()
    return run, reference.description


def report(ours: JobsRun, emulator: str, aws_calls: dict[str, dict[str, int]], reference: JobsRun) -> str:
    services = [name for name in OUR_SERVICES if name in ours.cpu_seconds]
    comparisons = [
        Comparison("throughput", ours.load.per_second, reference.load.per_second, "jobs/s", higher_is_better=True),
        Comparison("p50 POST → calendar", ours.load.median, reference.load.median, "ms", decimals=0),
        Comparison("p99 POST → calendar", ours.load.percentile(99), reference.load.percentile(99), "ms", decimals=0),
        Comparison(
            "CPU per job (ours: services; ref: web + worker)",
            ours.cpu_ms_per_job(*services),
            reference.cpu_ms_per_job(*REFERENCE_PROCESSES),
            "ms",
        ),
        Comparison(
            "CPU per job, web tier (api vs web)", ours.cpu_ms_per_job("api"), reference.cpu_ms_per_job("web"), "ms"
        ),
        Comparison("status polls per job", ours.polls / ours.jobs, reference.polls / reference.jobs, decimals=1),
        Comparison("failed jobs", ours.load.errors, reference.load.errors, decimals=0),
    ]
    lines = [side_by_side(comparisons, f"ours ({emulator})", "reference"), ""]

    rows = [[name, f"{ours.cpu_ms_per_job(name):.1f} ms"] for name in services]
    rows.append(["= our services", f"{ours.cpu_ms_per_job(*services):.1f} ms"])
    rows += [
        [f"{name} (dev sink, not in the total)", f"{ours.cpu_ms_per_job(name):.1f} ms"]
        for name in SINKS
        if name in ours.cpu_seconds
    ]
    rows.append([f"emulator ({emulator})", f"{ours.cpu_ms_per_job('emulator'):.1f} ms"])
    rows.append(["load generator (this process)", f"{ours.load_generator_cpu_seconds / ours.jobs * 1000:.1f} ms"])
    lines += [markdown_table(["our processes", "CPU per job"], rows), ""]

    rows = [[name, f"{reference.cpu_ms_per_job(name):.1f} ms"] for name in REFERENCE_PROCESSES]
    rows.append(["= web + worker", f"{reference.cpu_ms_per_job(*REFERENCE_PROCESSES):.1f} ms"])
    rows.append(["redis (not in the total)", f"{reference.cpu_ms_per_job('redis'):.1f} ms"])
    rows.append(
        ["load generator (this process)", f"{reference.load_generator_cpu_seconds / reference.jobs * 1000:.1f} ms"]
    )
    lines += [markdown_table(["reference processes", "CPU per job"], rows), ""]

    # Counted from start-up to exit: the jobs, the warm-up job, and the idle polls around them.
    jobs = ours.jobs + 1
    by_process = {name: sum(aws_calls.get(name, {}).values()) / jobs for name in services}
    by_operation = Counter()
    for name in services:
        by_operation.update(aws_calls.get(name, {}))
    rows = [[name, f"{calls:.2f}"] for name, calls in by_process.items()]
    rows.append(["= our services", f"{sum(by_process.values()):.2f}"])
    lines.append(markdown_table(["AWS calls per job (start-up and warm-up job included)", "calls"], rows))
    lines.append("by operation: " + ", ".join(f"{op} {n / jobs:.2f}" for op, n in by_operation.most_common()))
    return "\n".join(lines)


def main() -> None:
    print(__doc__.splitlines()[0])
    print(f"-- {TODOS} todos, {CLIENTS} clients x {JOBS_PER_CLIENT} jobs, status polled every 50 ms")
    reference, description = measure_reference()
    print(f"reference: {description}")
    ours, emulator, aws_calls = measure_ours()
    print(f"ours: the whole system on {emulator}, notifier delivering to a webhook sink and an SMTP sink")
    observability = make_run_observability()
    print(f"ours: traces as make run has them: {', '.join(f'{k}={v}' for k, v in observability.items())}")
    print(f"ours: every event handled {ours.settle_seconds:.1f} s after the last calendar was downloaded")
    print()
    print(report(ours, emulator, aws_calls, reference))


if __name__ == "__main__":
    main()
