"""`todo-api-consumer`: follow calendar jobs by consuming CalendarReady / CalendarFailed, and
enforce their deadlines and retention with the sweeper in a thread beside the consumer loop.

Exit codes as every worker's (taskoverflow_shared.worker_runtime): 0 after a graceful stop, 1
when the queue cannot be reached at start, 2 when the configuration is invalid.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

from taskoverflow_shared.events import Envelope, EventData
from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.sqs_consumer import DependencyUnavailable, Handler, SqsConsumer
from taskoverflow_shared.worker_runtime import Startup, run_worker
from todo_api.adapters.database import DATABASE_UNAVAILABLE, database_answers
from todo_api.bootstrap import bootstrap
from todo_api.config import ConsumerProcessSettings
from todo_api.entrypoints.calendar_job_sweeper import CalendarJobSweeper

PROCESS = "todo-api-consumer"


@dataclass
class ConsumerAndSweeper:
    """The process's loop (a worker_runtime `Loop`): the consumer in the main thread, as the
    runtime expects, the sweeper in another. The heartbeat follows the consumer; a stop ends
    both, the sweeper after the batch in hand."""

    consumer: SqsConsumer
    sweeper: CalendarJobSweeper

    @property
    def liveness(self) -> Liveness:
        return self.consumer.liveness

    @property
    def interruptible(self) -> bool:
        return self.consumer.interruptible

    def run(self, stop: threading.Event) -> None:
        sweeping = threading.Thread(target=self.sweeper.run, args=(stop,), name="calendar-sweeper")
        sweeping.start()
        try:
            self.consumer.run(stop)
        finally:
            stop.set()
            sweeping.join()


def build_consumer(settings: ConsumerProcessSettings, startup: Startup) -> ConsumerAndSweeper:
    """The shared consumer loop on the todo-api's queue, handing each outcome to the bus, and
    the calendar job sweeper.

    While the database is down the loop stops receiving and probes it, so a calendar result
    waits in the queue however long the outage lasts, instead of reaching the DLQ.
    """
    api = bootstrap(settings)
    handle = waiting_out_database_outages(api.bus.consume)
    consumer = SqsConsumer.on_queue(
        settings,
        startup,
        handlers=dict.fromkeys(api.bus.handled_event_types(), handle),
        dependency_probe=lambda: database_answers(api.engine),
    )
    sweeper = CalendarJobSweeper(api.bus, settings.calendar_sweep_interval_seconds, settings.calendar_sweep_batch_size)
    return ConsumerAndSweeper(consumer, sweeper)


def waiting_out_database_outages(handler: Handler) -> Handler:
    def handle(envelope: Envelope, data: EventData) -> None:
        try:
            handler(envelope, data)
        except DATABASE_UNAVAILABLE as down:
            raise DependencyUnavailable(str(down).splitlines()[0]) from down

    return handle


def main() -> int:
    return run_worker(PROCESS, ConsumerProcessSettings.from_environment, build_consumer)


if __name__ == "__main__":
    sys.exit(main())
