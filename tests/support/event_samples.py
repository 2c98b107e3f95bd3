"""One event of every type (both shapes of CalendarRequested), for the contract tests."""

from __future__ import annotations

from taskoverflow_shared.events import (
    CalendarFailed,
    CalendarReady,
    CalendarRequested,
    Envelope,
    EventData,
    S3ObjectRef,
    TodoChanged,
    new_envelope,
)

TODO = {
    "id": 7,
    "title": "Write the report",
    "completed": False,
    "deadline_at": "2026-12-01T09:00:00",
    "created_at": "2026-11-27T10:00:00+00:00",
    "updated_at": "2026-11-27T10:00:00+00:00",
}
SHA = "0" * 64
ONE_OF_EACH_TYPE: list[EventData] = [
    TodoChanged(action="created", todo=TODO, version=1),
    CalendarRequested(job_id="j1", todo_count=1, todos=[TODO], notify_email="ann@example.com"),
    CalendarRequested(
        job_id="j2",
        todo_count=9000,
        snapshot=S3ObjectRef(bucket="b", key="snapshots/j2.ndjson", size_bytes=1, sha256=SHA),
    ),
    CalendarReady(job_id="j1", bucket="b", key="calendars/j1.ics", size_bytes=10, event_count=1, sha256=SHA),
    CalendarFailed(job_id="j3", reason="the snapshot is gone"),
]


def one_envelope_of_each_type(correlation_id: str = "corr-1") -> list[Envelope]:
    return [
        new_envelope(data, source="todo-api", correlation_id=correlation_id, subject=f"calendars/{number}")
        for number, data in enumerate(ONE_OF_EACH_TYPE)
    ]
