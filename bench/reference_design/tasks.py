"""The reference's Celery app and its one task: todos in (the whole list, inside the message), calendar text out."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from icalendar import Calendar, Event

REDIS_URL = os.environ.get("REFERENCE_REDIS_URL", "redis://127.0.0.1:6379/0")

celery = Celery("reference", broker=REDIS_URL, backend=REDIS_URL)
celery.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # The contract's STARTED state exists only when the worker reports it.
    task_track_started=True,
    broker_connection_retry_on_startup=True,
)


@celery.task(name="reference.create_ical")
def create_ical(todos: list[dict[str, Any]]) -> str:
    """One VEVENT per todo with a deadline; the text becomes the task's result in Redis."""
    calendar = Calendar()
    calendar.add("prodid", "-//TaskOverflow reference (Flask + Celery)//EN")
    calendar.add("version", "2.0")
    stamp = datetime.now(UTC)
    for todo in todos:
        if not todo["deadline_at"]:
            continue
        event = Event()
        event.add("uid", f"todo-{todo['id']}@taskoverflow-reference")
        event.add("dtstamp", stamp)
        event.add("summary", todo["title"])
        event.add("description", todo["description"] or "")
        event.add("dtstart", datetime.fromisoformat(todo["deadline_at"]))
        calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")
