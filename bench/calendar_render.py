"""Calendar rendering: the ical-worker's streaming renderer against the straightforward icalendar way.

The reference builds one icalendar.Calendar, adds an icalendar.Event per todo and calls
to_ical(); ours (ical_worker.domain.CalendarRenderer) writes each VEVENT's text directly and
joins the blocks into one buffer. Both get the same in-memory TodoState list, apply the same
rules (skip todos without a deadline, order by id) and must produce equivalent calendars: the
bench parses both outputs with icalendar and compares (UID, SUMMARY, DESCRIPTION, DTSTART,
DTSTAMP) for every event before it prints a ratio.

Time: wall clock of render() alone, median of `--runs` cold runs (a fresh renderer each time,
so ours starts with an empty block cache). Peak memory: tracemalloc's peak during one more
render, measured apart from the timed runs because tracing slows both. tracemalloc is the fair
choice here: both renderers are pure Python, so it sees all their allocations and nothing
else; a process's ru_maxrss would add the interpreter and the shared input list to both sides
and shrink the difference.

Then repeated jobs: `--jobs` renders of a `--repeat-todos` list with one todo changed between
jobs, as a todo list that is exported again and again, with the block cache and without; CPU
time per job, with and without decoding the NDJSON snapshot first (what the worker does).

    python -m bench.calendar_render [--todos 50000] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

import icalendar

from ical_worker.domain import CalendarRenderer, SnapshotDecoder, event_uid
from taskoverflow_shared.events import S3ObjectRef, TodoState

Render = Callable[[list[TodoState]], bytes]
EventFacts = tuple[str, str, str, str, str]

_WORDS = [
    "buy",
    "milk",
    "call",
    "Zoë",
    "about",
    "the",
    "report;",
    "fix",
    "bug",
    "#42,",
    "deploy",
    "—",
    "naïve",
    "café",
    "😀",
]


def make_todos(count: int, *, seed: int = 7) -> list[TodoState]:
    """Realistic todos: titles up to 80 and descriptions up to 120 characters, some needing
    escaping or multi-octet folding, one in ten without a deadline, shuffled ids."""
    rng = random.Random(seed)
    ids = list(range(1, count + 1))
    rng.shuffle(ids)
    todos = []
    for todo_id in ids:
        title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 12)))[:80]
        description = None if rng.random() < 0.3 else " ".join(rng.choice(_WORDS) for _ in range(25))[:120]
        deadline = (
            None if rng.random() < 0.1 else f"{_day(rng, 2025)}T{rng.randint(0, 23):02d}:{rng.choice(['00', '30'])}:00"
        )
        todos.append(
            TodoState(
                id=todo_id,
                title=title,
                description=description,
                completed=rng.random() < 0.4,
                deadline_at=deadline,
                created_at="2024-01-02T03:04:05+00:00",
                updated_at=f"{_day(rng, 2024)}T10:{rng.randint(0, 59):02d}:00+02:00",
            )
        )
    return todos


def _day(rng: random.Random, year: int) -> str:
    return f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def render_ours(todos: list[TodoState]) -> bytes:
    return CalendarRenderer().render(todos).body


def render_reference(todos: list[TodoState]) -> bytes:
    """The straightforward way, with the same rules as ours so the outputs can be compared."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//TaskOverflow//reference//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for todo in sorted(todos, key=lambda todo: todo.id):
        if todo.deadline_at is None:
            continue
        event = icalendar.Event()
        event.add("uid", event_uid(todo.id))
        event.add("dtstamp", datetime.fromisoformat(todo.updated_at).astimezone(UTC))
        event.add("dtstart", datetime.fromisoformat(todo.deadline_at))
        event.add("summary", todo.title)
        event.add("description", todo.description or "")
        calendar.add_component(event)
    return calendar.to_ical()


def median_seconds(render: Render, todos: list[TodoState], runs: int) -> tuple[float, float, bytes]:
    """Median wall time and median CPU time of `runs` renders, and the last output. On a shared
    machine the CPU time is the steadier of the two: waiting for a core does not count."""
    timings, cpu_timings, body = [], [], b""
    for _ in range(runs):
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        body = render(todos)
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
    return statistics.median(timings), statistics.median(cpu_timings), body


def peak_bytes(render: Render, todos: list[TodoState]) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        render(todos)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def event_facts(body: bytes) -> set[EventFacts]:
    """What a calendar client sees of each event, read back by icalendar's parser."""
    return {
        (
            str(event["UID"]),
            str(event["SUMMARY"]),
            str(event["DESCRIPTION"]),
            event["DTSTART"].dt.isoformat(),
            event["DTSTAMP"].dt.astimezone(UTC).isoformat(),
        )
        for event in icalendar.Calendar.from_ical(body).walk("VEVENT")
    }


def check_octets(body: bytes) -> None:
    """RFC 5545's framing, which icalendar's lenient parser would not insist on."""
    assert body.endswith(b"\r\n"), "last line without CRLF"
    for line in body[:-2].split(b"\r\n"):
        assert len(line) <= 75 and b"\n" not in line and b"\r" not in line, line
        line.decode("utf-8")


def repeated_jobs(todos: list[TodoState], jobs: int, *, cache_size: int, with_snapshot: bool) -> float:
    """Median CPU milliseconds per job over `jobs` exports, one todo edited between jobs."""
    renderer, decoder = CalendarRenderer(cache_size=cache_size), SnapshotDecoder(cache_size=cache_size)
    current = list(todos)
    rng = random.Random(1)
    timings = []
    for job in range(jobs + 1):
        body = b"".join(todo.model_dump_json().encode() + b"\n" for todo in current)
        ref = S3ObjectRef(bucket="b", key="k", size_bytes=len(body), sha256=hashlib.sha256(body).hexdigest())
        started = time.process_time()
        job_todos = decoder.decode(body, ref) if with_snapshot else current
        renderer.render(job_todos)
        if job > 0:  # the first job fills the cache: it is the cold one, measured above
            timings.append(time.process_time() - started)
        position = rng.randrange(len(current))
        current[position] = current[position].model_copy(
            update={"title": f"edited in job {job}", "updated_at": f"2025-01-01T00:00:{job % 60:02d}+00:00"}
        )
    return statistics.median(timings) * 1000


def _row(name: str, seconds: float, cpu_seconds: float, peak: int, body: bytes) -> str:
    return f"{name:22}{seconds:>11.3f}s{cpu_seconds:>11.3f}s{peak / 2**20:>10.1f} MiB{len(body) / 2**20:>8.1f} MiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--todos", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--large", type=int, default=100_000, help="todos for the ours-only size check")
    parser.add_argument("--repeat-todos", type=int, default=5_000)
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args(argv or [])

    print(f"== calendar_render: {args.todos} todos, median of {args.runs} cold runs, tracemalloc peak")
    todos = make_todos(args.todos)
    ours_seconds, ours_cpu, ours_body = median_seconds(render_ours, todos, args.runs)
    reference_seconds, reference_cpu, reference_body = median_seconds(render_reference, todos, args.runs)
    ours_peak = peak_bytes(render_ours, todos)
    reference_peak = peak_bytes(render_reference, todos)

    check_octets(ours_body)
    ours_facts, reference_facts = event_facts(ours_body), event_facts(reference_body)
    equivalent = ours_facts == reference_facts
    events = len(ours_facts)
    deterministic = render_ours(list(reversed(todos))) == ours_body

    time_ratio = ours_seconds / reference_seconds
    cpu_ratio = ours_cpu / reference_cpu
    memory_ratio = ours_peak / reference_peak
    print(f"{'':22}{'wall time':>12}{'CPU time':>12}{'peak memory':>14}{'output':>12}")
    print(_row("reference (icalendar)", reference_seconds, reference_cpu, reference_peak, reference_body))
    print(_row("ours (streaming)", ours_seconds, ours_cpu, ours_peak, ours_body))
    print(
        f"ratio ours/reference: time {time_ratio:.3f} ({1 / time_ratio:.1f}x faster), "
        f"CPU {cpu_ratio:.3f} ({1 / cpu_ratio:.1f}x less), "
        f"memory {memory_ratio:.3f} ({1 / memory_ratio:.1f}x less); goal <= 0.333 each: "
        f"{'met' if time_ratio <= 1 / 3 and memory_ratio <= 1 / 3 else 'NOT met'}"
    )
    print(f"equivalent: {equivalent} ({events} events compared); ours byte-identical when re-rendered: {deterministic}")
    if not equivalent:
        print(f"  only in ours: {sorted(ours_facts - reference_facts)[:3]}")
        print(f"  only in reference: {sorted(reference_facts - ours_facts)[:3]}")

    large = make_todos(args.large, seed=11)
    large_seconds, _, large_body = median_seconds(render_ours, large, 1)
    print(
        f"ours on {args.large} todos: {large_seconds:.3f}s, peak {peak_bytes(render_ours, large) / 2**20:.1f} MiB, "
        f"{len(large_body) / 2**20:.1f} MiB of calendar"
    )

    repeat = make_todos(args.repeat_todos, seed=3)
    print(f"repeated jobs: {args.repeat_todos} todos, one edited between jobs, median CPU per job of {args.jobs}")
    for with_snapshot in (False, True):
        cached = repeated_jobs(repeat, args.jobs, cache_size=50_000, with_snapshot=with_snapshot)
        uncached = repeated_jobs(repeat, args.jobs, cache_size=0, with_snapshot=with_snapshot)
        what = "decode snapshot + render" if with_snapshot else "render only"
        print(f"  {what:26} with caches {cached:6.1f} ms   without {uncached:6.1f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])
