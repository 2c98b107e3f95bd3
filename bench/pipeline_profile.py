"""Where our services spend their CPU in the pipeline benchmark's job phase: py-spy on each process.

The harness, the system and the process groups are bench.pipeline_comparison's: our whole system
on the emulator BENCH_EMULATOR names, 100 todos, a warm-up job, then the jobs from N clients. From
the end of the warm-up until every event the jobs caused is handled, one `py-spy record` per
service (bench/py_spy_recorder.py) samples the process and its children (the API is gunicorn's
master and workers), and CPU per job is read from /proc as the benchmark reads it — with the
profiler attached, so a little above the benchmark's own. It writes, under artifacts/profile/
(emptied first, so the folder holds one run):

- `<process>.speedscope.json`: the flame graph; open it at https://www.speedscope.app (or
  `npx speedscope <file>`), whose "Left Heavy" view merges the threads' identical stacks;
- `<process>.md`: the top functions by self time and by total time, as shares of its samples;
- `<process>.py-spy.log`: py-spy's own words, with its sample and error counts (a few errors
  are stacks it could not read while the thread ran on);
- `README.md`: CPU per job of each process and the top 10 functions of each.

    make profile ARGS="--jobs 40 --clients 4 --rate 200 --with-emulator"
    python -m bench.pipeline_profile --help

The options default to PROFILE_JOBS (200, the benchmark's), PROFILE_CLIENTS (8), PROFILE_RATE
(samples per second, py-spy's 100) and PROFILE_EMULATOR (1: profile the emulator too; by default
it is measured but not sampled). py-spy attaches with ptrace: run it as root or with
CAP_SYS_PTRACE; when it may not attach, the run stops and says so.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.calendar_jobs import bench_todos
from bench.comparison_table import markdown_table
from bench.pipeline_comparison import (
    CLIENTS,
    JOBS_PER_CLIENT,
    OUR_SERVICES,
    TODOS,
    JobsRun,
    our_process_groups,
    run_jobs,
    start_our_system,
)
from bench.py_spy_recorder import ProfilerUnavailable, PySpyRecording
from bench.speedscope_tables import FunctionTimes, function_times, functions_table
from tests.support.artifacts import ARTIFACTS

OUTPUT = ARTIFACTS / "profile"
SUMMARY_TOP, PROCESS_TOP = 10, 30


@dataclass(frozen=True)
class ProfileOptions:
    jobs: int
    clients: int
    rate: int
    with_emulator: bool

    @property
    def jobs_per_client(self) -> int:
        return math.ceil(self.jobs / self.clients)


def parse_options(argv: list[str]) -> ProfileOptions:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline_profile", description=__doc__.splitlines()[0])
    environ = os.environ
    parser.add_argument(
        "--jobs",
        type=int,
        default=int(environ.get("PROFILE_JOBS", CLIENTS * JOBS_PER_CLIENT)),
        help="calendar jobs after the warm-up, rounded up to a multiple of --clients",
    )
    parser.add_argument("--clients", type=int, default=int(environ.get("PROFILE_CLIENTS", CLIENTS)))
    parser.add_argument(
        "--rate", type=int, default=int(environ.get("PROFILE_RATE", 100)), help="py-spy samples per second"
    )
    parser.add_argument(
        "--with-emulator",
        action="store_true",
        default=environ.get("PROFILE_EMULATOR", "") not in ("", "0"),
        help="sample the emulator too (LocalStack: a Python process py-spy can read)",
    )
    options = parser.parse_args(argv)
    if options.jobs < 1 or options.clients < 1 or options.rate < 1:
        parser.error("--jobs, --clients and --rate must be positive")
    return ProfileOptions(options.jobs, options.clients, options.rate, options.with_emulator)


def profile_ours(options: ProfileOptions, directory: Path) -> tuple[JobsRun, str]:
    system, emulator = start_our_system("bench-profile-ours")
    try:
        system.insert_todos(bench_todos(0, TODOS))
        groups = our_process_groups(system)
        sampled = [*(name for name in OUR_SERVICES if name in groups), *(["emulator"] if options.with_emulator else [])]
        recording = PySpyRecording({name: groups[name][0] for name in sampled}, directory, options.rate)
        run = run_jobs(
            system.api_url,
            groups,
            settle=system.wait_until_idle,
            clients=options.clients,
            jobs_per_client=options.jobs_per_client,
            during_jobs=recording,
        )
    finally:
        system.stop()
    return run, emulator


def process_report(name: str, times: FunctionTimes) -> str:
    return "\n".join(
        [
            f"# {name}: where its samples were",
            "",
            f"{times.samples:.2f} thread-seconds sampled on the CPU or runnable (idle threads left out); flame graph: "
            f"[{name}.speedscope.json]({name}.speedscope.json) (https://www.speedscope.app).",
            "",
            f"## Top {PROCESS_TOP} by self time (running that function's own code)",
            "",
            functions_table(times.top_by_self(PROCESS_TOP)),
            "",
            f"## Top {PROCESS_TOP} by total time (that function anywhere on the stack)",
            "",
            functions_table(times.top_by_total(PROCESS_TOP)),
            "",
        ]
    )


def summary(options: ProfileOptions, run: JobsRun, emulator: str, profiles: dict[str, FunctionTimes]) -> str:
    services = [name for name in OUR_SERVICES if name in run.cpu_seconds]
    rows = [
        [
            name,
            f"{run.cpu_ms_per_job(name):.1f} ms",
            f"{run.cpu_seconds[name]:.2f} s",
            f"{profiles[name].samples:.2f} s" if name in profiles else "not sampled",
            f"[{name}.md]({name}.md)" if name in profiles else "",
        ]
        for name in [*services, "emulator"]
    ]
    total = [
        "= our services",
        f"{run.cpu_ms_per_job(*services):.1f} ms",
        f"{sum(run.cpu_seconds[n] for n in services):.2f} s",
    ]
    rows.insert(len(services), [*total, "", ""])
    lines = [
        "# Profile of the pipeline benchmark's job phase",
        "",
        f"Our system on {emulator}, {TODOS} todos, {run.jobs} jobs from {options.clients} clients "
        f"({run.load.errors} failed, {run.load.per_second:.2f} jobs/s), py-spy at {options.rate} Hz from after "
        f"the warm-up job until every event was handled ({run.settle_seconds:.1f} s after the last calendar). "
        "CPU is read from /proc with the profiler attached. Sampled is the thread-seconds py-spy saw a Python "
        "thread not idle: on the CPU or runnable, waiting for a core. On a loaded machine it exceeds CPU, and "
        "a thread woken but not yet running shows in the frame it woke in (Condition.wait, select, a socket "
        "read): read those rows as waiting for a core. Written by `make profile` (bench/pipeline_profile.py).",
        "",
        markdown_table(["process", "CPU per job", "CPU", "sampled", "tables"], rows),
        "",
    ]
    for name, times in profiles.items():
        lines += [
            f"## {name}: top {SUMMARY_TOP} by self time",
            "",
            functions_table(times.top_by_self(SUMMARY_TOP)),
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """`argv` as on the command line; none (`python -m bench bench.pipeline_profile`) takes the
    PROFILE_* variables and the defaults."""
    options = parse_options(argv or [])
    shutil.rmtree(OUTPUT, ignore_errors=True)
    print(__doc__.splitlines()[0])
    print(f"-- {options.clients} clients x {options.jobs_per_client} jobs, py-spy at {options.rate} Hz")
    try:
        run, emulator = profile_ours(options, OUTPUT)
    except ProfilerUnavailable as unavailable:
        sys.exit(f"no profile: {unavailable}")
    profiles = {}
    for name in [*OUR_SERVICES, "emulator"]:
        recorded = OUTPUT / f"{name}.speedscope.json"
        if recorded.exists():
            profiles[name] = function_times(json.loads(recorded.read_text()))
            (OUTPUT / f"{name}.md").write_text(process_report(name, profiles[name]))
    text = summary(options, run, emulator, profiles)
    (OUTPUT / "README.md").write_text(text)
    print(text)
    print(f"written to {OUTPUT}")


if __name__ == "__main__":
    main(sys.argv[1:])
