"""The calendar job sweeper: a timer loop that enforces job deadlines and job retention.

It runs beside the consumer in `todo-api-consumer` (see consumer.py), the process that already
follows calendar jobs, so it needs no process, image or task of its own. Each sweep:
1. fails every job still unfinished past `CALENDAR_JOB_DEADLINE_SECONDS` ("deadline passed")
   and announces it as a CalendarFailed through the outbox, so the notifier tells the requester
   exactly what the API now answers; a CalendarReady that arrives later still wins;
2. deletes the jobs finished more than `CALENDAR_JOB_RETENTION_DAYS` ago;
3. deletes the Idempotency-Keys received more than `IDEMPOTENCY_KEY_RETENTION_HOURS` ago (the
   API's other table that only grows; it is swept here so that it needs no timer of its own).
Each goes in transactions of `CALENDAR_SWEEP_BATCH_SIZE` jobs. Several sweepers may run (one per
consumer task): on PostgreSQL each batch skips the jobs another one holds.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import structlog

from todo_api.domain.commands import FailOverdueCalendarJobs, ForgetFinishedCalendarJobs, ForgetOldIdempotencyKeys
from todo_api.messagebus import MessageBus

log = structlog.get_logger("todo_api.calendar_job_sweeper")


@dataclass(frozen=True)
class SweepResult:
    failed: int
    forgotten: int
    keys_forgotten: int = 0


@dataclass
class CalendarJobSweeper:
    bus: MessageBus
    interval_seconds: float
    batch_size: int

    def sweep(self, stop: threading.Event | None = None) -> SweepResult:
        """One sweep, batch after batch until a batch comes back short (or `stop` is set)."""
        stop = stop or threading.Event()
        correlation_id = str(uuid.uuid4())  # one per sweep: the logs and events of a sweep share it
        failed = self._until_short(FailOverdueCalendarJobs(self.batch_size, correlation_id), stop)
        forgotten = self._until_short(ForgetFinishedCalendarJobs(self.batch_size, correlation_id), stop)
        keys_forgotten = self._until_short(ForgetOldIdempotencyKeys(self.batch_size, correlation_id), stop)
        return SweepResult(failed, forgotten, keys_forgotten)

    def _until_short(
        self,
        command: FailOverdueCalendarJobs | ForgetFinishedCalendarJobs | ForgetOldIdempotencyKeys,
        stop: threading.Event,
    ) -> int:
        total = 0
        while not stop.is_set():
            done: int = self.bus.handle(command)
            total += done
            if done < self.batch_size:
                break
        return total

    def run(self, stop: threading.Event) -> None:
        """Sweep at once, then every `interval_seconds`, until `stop`. A failed sweep (the
        database is down) is logged and tried again at the next tick: nothing is lost by waiting."""
        log.info("calendar_sweeper_started", interval_seconds=self.interval_seconds, batch_size=self.batch_size)
        while not stop.is_set():
            try:
                result = self.sweep(stop)
            except Exception as error:
                log.warning("calendar_sweep_failed", error=str(error).splitlines()[0] if str(error) else repr(error))
            else:
                if result.failed or result.forgotten or result.keys_forgotten:
                    log.info(
                        "calendar_sweep_done",
                        failed=result.failed,
                        forgotten=result.forgotten,
                        keys_forgotten=result.keys_forgotten,
                    )
            stop.wait(self.interval_seconds)
