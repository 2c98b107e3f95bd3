"""The calendar-job harness, the same for every system it drives: the todos a run starts
with, and one client's job over the public REST contract — POST /api/v1/todos/ical, poll the
returned task_url every 50 ms until SUCCESS or FAILURE, then GET the result (200 text/calendar).
"""

from __future__ import annotations

import threading
import time

import requests

POLL_INTERVAL_SECONDS = 0.05
JOB_TIMEOUT_SECONDS = 120


def bench_todos(start: int, count: int) -> list[tuple[str, str, str | None]]:
    """(title, description, deadline) rows; every tenth todo has no deadline, as in real lists."""
    return [
        (f"todo {n}", f"described {n}", "2030-01-01 09:00:00.000000" if n % 10 else None)
        for n in range(start, start + count)
    ]


class PollCounter:
    """Status polls made by every client thread, so a run can report polls per job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


def fetch_calendar(session: requests.Session, api_url: str, polls: PollCounter | None = None) -> str | None:
    """One job end to end; the calendar text, or None if the job failed or the result was no calendar."""
    task = session.post(f"{api_url}/api/v1/todos/ical", timeout=30).json()
    deadline = time.monotonic() + JOB_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        status = session.get(task["task_url"], timeout=30).json()["task_status"]
        if polls:
            polls.add()
        if status == "SUCCESS":
            result = session.get(f"{api_url}/api/v1/todos/ical/{task['task_id']}/result", timeout=60)
            calendar = result.status_code == 200 and result.headers["Content-Type"].startswith("text/calendar")
            return result.text if calendar else None
        if status == "FAILURE":
            return None
        time.sleep(POLL_INTERVAL_SECONDS)  # a client polling its job (as the web page does), not a test waiting
    return None
