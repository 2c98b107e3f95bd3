"""What the worker does with each event it consumes: one function per event type."""

from __future__ import annotations

import time

import structlog

from ical_worker.domain import BadCalendarData, CalendarRenderer, SnapshotDecoder, StorageLayout
from ical_worker.ports import CalendarStore, Publish, SnapshotReader
from taskoverflow_shared.events import (
    CalendarFailed,
    CalendarReady,
    CalendarRequested,
    Envelope,
    TodoState,
    new_envelope,
)
from taskoverflow_shared.metrics import Metrics

SOURCE = "ical-worker"

log = structlog.get_logger("ical_worker.handlers")


def on_calendar_requested(
    envelope: Envelope,
    event: CalendarRequested,
    *,
    snapshots: SnapshotReader,
    calendars: CalendarStore,
    publish: Publish,
    renderer: CalendarRenderer,
    decoder: SnapshotDecoder,
    layout: StorageLayout,
    metrics: Metrics,
) -> None:
    """Render the requested calendar to `<calendar_prefix><job_id>.ics`, then announce CalendarReady.

    Bad data (a missing or altered snapshot, a line that is not a todo, a bad deadline) can never
    succeed, so it ends the job with CalendarFailed and the message is acknowledged. Anything
    else (S3 or SNS unreachable) raises: the message returns after its visibility timeout.

    Safe to run twice: the calendar is a pure function of the todos and the key is the job's,
    so a redelivery overwrites the object with identical bytes and announces identical data.
    """
    started = time.perf_counter()
    log.info(
        "calendar_job_started",
        job_id=event.job_id,
        todo_count=event.todo_count,
        snapshot_key=event.snapshot.key if event.snapshot else None,
    )
    try:
        key = layout.calendar_key(event.job_id)
        todos = _todos_of(event, snapshots=snapshots, decoder=decoder, layout=layout)
        calendar = renderer.render(todos)
        metrics.observe("calendar_render_duration", time.perf_counter() - started)
    except BadCalendarData as bad:
        log.warning("calendar_job_failed", job_id=event.job_id, reason=bad.reason)
        _announce(
            envelope,
            CalendarFailed(job_id=event.job_id, reason=bad.reason, notify_email=event.notify_email),
            publish=publish,
        )
        return
    if len(todos) != event.todo_count:
        # The calendar is still right for the todos it got; the count is only the producer's note.
        log.warning("todo_count_mismatch", job_id=event.job_id, announced=event.todo_count, received=len(todos))
    calendars.put(layout.bucket, key, calendar.body)
    metrics.observe("calendar_size", calendar.size_bytes)
    _announce(
        envelope,
        CalendarReady(
            job_id=event.job_id,
            bucket=layout.bucket,
            key=key,
            size_bytes=calendar.size_bytes,
            event_count=calendar.event_count,
            sha256=calendar.sha256,
            notify_email=event.notify_email,
        ),
        publish=publish,
    )
    log.info(
        "calendar_ready",
        job_id=event.job_id,
        key=key,
        event_count=calendar.event_count,
        size_bytes=calendar.size_bytes,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def _todos_of(
    event: CalendarRequested, *, snapshots: SnapshotReader, decoder: SnapshotDecoder, layout: StorageLayout
) -> list[TodoState]:
    if event.todos is not None:
        return event.todos
    assert event.snapshot is not None  # the schema guarantees exactly one of todos and snapshot
    layout.check_snapshot(event.snapshot)
    return decoder.decode(snapshots.read(event.snapshot), event.snapshot)


def _announce(request: Envelope, outcome: CalendarReady | CalendarFailed, *, publish: Publish) -> None:
    # The request's correlation id follows the job, so one filter shows its whole story in the logs;
    # the outcome's id derives from the request's, so a redelivered request re-announces the same event.
    publish(
        new_envelope(
            outcome,
            source=SOURCE,
            correlation_id=request.correlation_id,
            subject=f"calendars/{outcome.job_id}",
            caused_by=request.id,
        )
    )
