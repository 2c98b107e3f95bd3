"""After a burst of writes, a calendar request does not starve behind their events.

8 clients create 3,000 todos through the API, which leaves thousands of TodoChanged rows in the
outbox; a calendar requested right after must still succeed (on LocalStack). The deadline is
generous: this checks that the request is not stuck behind the backlog, not how fast the system
is (`make bench` measures that).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.moto import wait_until

CLIENTS = 8
TODOS = 3000


def create_todos(api_url: str, numbers: range) -> None:
    with requests.Session() as session:
        for n in numbers:
            response = session.post(
                f"{api_url}/api/v1/todos",
                json={"title": f"burst todo {n}", "deadline_at": "2031-01-02T03:04:05"},
                timeout=30,
            )
            assert response.status_code == 201, response.text


@pytest.mark.slow
def test_a_calendar_requested_after_3000_todos_from_8_clients_succeeds(start_system):
    system = start_system("e2e-burst")
    try:
        with ThreadPoolExecutor(CLIENTS) as clients:
            list(clients.map(lambda c: create_todos(system.api_url, range(c, TODOS, CLIENTS)), range(CLIENTS)))
        backlog = requests.get(f"{system.api_url}/api/v1/health", timeout=10).json()["outbox_lag_seconds"]

        requested_at = time.monotonic()
        accepted = requests.post(f"{system.api_url}/api/v1/todos/ical", timeout=10).json()

        def finished():
            status = requests.get(accepted["task_url"], params={"wait": 10}, timeout=30).json()
            return status if status["task_status"] in ("SUCCESS", "FAILURE") else None

        status = wait_until(finished, timeout=180, interval=0.1, message="the calendar after the burst")
        assert status["task_status"] == "SUCCESS", status
        took = time.monotonic() - requested_at
        calendar = requests.get(status["result_url"], timeout=60).content
        assert calendar.count(b"BEGIN:VEVENT") == TODOS
        print(f"\ncalendar SUCCESS {took:.1f} s after its request; the outbox was {backlog:.1f} s behind then")
    finally:
        system.stop()
