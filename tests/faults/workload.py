"""The load a fault scenario runs, and the ledger of what the API acknowledged.

Clients behave as a demanding user's would: every write carries an `Idempotency-Key` of its
own, kept for its retries; a 503 with `Retry-After` is retried after it, a 409 (the same key
still in flight) or no answer at all after a second, and any other answer is final. The key is
what makes retrying safe: a 503 or a dropped connection does not say whether the write was
committed. What was acknowledged (2xx) is what must never be lost. A request still without an
answer after its last try leaves its todo in doubt: it may or may not have happened, and the
checks afterwards accept either for that todo alone.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

ATTEMPTS = 30
NO_ANSWER = 0  # the status recorded for a request that got no response
RETRIED_STATUSES = {503, 409}


@dataclass
class Ledger:
    """What the API answered: every status, and the last acknowledged state of every todo."""

    statuses: Counter[int] = field(default_factory=Counter)
    todos: dict[int, dict] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    task_urls: list[str] = field(default_factory=list)
    # Todos a request without an answer may have changed or deleted; creates without an answer.
    in_doubt: set[int] = field(default_factory=set)
    creates_in_doubt: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: requests.Response) -> None:
        with self._lock:
            self.statuses[response.status_code] += 1

    @property
    def server_errors(self) -> dict[int, int]:
        """5xx answers other than 503 (which tells the client when to come back)."""
        return {status: count for status, count in self.statuses.items() if status >= 500 and status != 503}


class Client:
    def __init__(self, api_url: str, ledger: Ledger) -> None:
        self.api_url = api_url
        self.ledger = ledger
        self.session = requests.Session()

    def call(self, method: str, path: str, **options) -> requests.Response | None:
        """The final answer, or None when the last try got none."""
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        response = None
        for _attempt in range(ATTEMPTS):
            try:
                response = self.session.request(method, f"{self.api_url}{path}", timeout=60, headers=headers, **options)
            except requests.RequestException:
                with self.ledger._lock:
                    self.ledger.statuses[NO_ANSWER] += 1
                response = None
                time.sleep(1)
                continue
            self.ledger.record(response)
            if response.status_code not in RETRIED_STATUSES:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return response if response is not None and response.status_code not in RETRIED_STATUSES else None


def run_writes(api_url: str, ledger: Ledger, *, writes: int, calendars: int, clients: int = 8, seed: int = 6400):
    """`writes` creates, updates and deletes (about 60/25/15) and `calendars` calendar requests,
    spread over `clients` threads; every acknowledged result goes into `ledger`."""
    plan = ["write"] * writes + ["calendar"] * calendars
    random.Random(seed).shuffle(plan)
    shares = [plan[n::clients] for n in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda share: _client_run(api_url, ledger, share, random.Random(seed + len(share))), shares))


def _client_run(api_url: str, ledger: Ledger, plan: list[str], rng: random.Random) -> None:
    client = Client(api_url, ledger)
    mine: list[int] = []
    for step, kind in enumerate(plan):
        if kind == "calendar":
            response = client.call("POST", "/api/v1/todos/ical")
            if response is not None and response.status_code == 202:
                with ledger._lock:
                    ledger.task_urls.append(response.json()["task_url"])
            continue
        roll = rng.random()
        if not mine or roll < 0.6:
            response = client.call("POST", "/api/v1/todos", json={"title": f"fault todo {step}", "description": "load"})
            if response is None:
                with ledger._lock:
                    ledger.creates_in_doubt += 1
            elif response.status_code == 201:
                todo = response.json()
                mine.append(todo["id"])
                with ledger._lock:
                    ledger.todos[todo["id"]] = todo
        elif roll < 0.85:
            todo_id = rng.choice(mine)
            response = client.call("PUT", f"/api/v1/todos/{todo_id}", json={"completed": True, "description": "done"})
            if response is None:
                with ledger._lock:
                    ledger.in_doubt.add(todo_id)
            elif response.status_code == 200:
                with ledger._lock:
                    ledger.todos[todo_id] = response.json()
        else:
            todo_id = mine.pop(rng.randrange(len(mine)))
            response = client.call("DELETE", f"/api/v1/todos/{todo_id}")
            if response is None:
                with ledger._lock:
                    ledger.in_doubt.add(todo_id)
            elif response.status_code in (200, 204):
                with ledger._lock:
                    ledger.todos.pop(todo_id, None)
                    ledger.deleted.add(todo_id)
