"""`todo-api-consumer`: follow calendar jobs by consuming CalendarReady / CalendarFailed.

Exit codes as every worker's (taskoverflow_shared.worker_runtime): 0 after a graceful stop, 1
when the queue cannot be reached at start, 2 when the configuration is invalid.
"""

from __future__ import annotations

import sys

from taskoverflow_shared.events import Envelope, EventData
from taskoverflow_shared.sqs_consumer import DependencyUnavailable, Handler, SqsConsumer
from taskoverflow_shared.worker_runtime import Startup, run_worker
from todo_api.adapters.database import DATABASE_UNAVAILABLE, database_answers
from todo_api.bootstrap import bootstrap
from todo_api.config import ConsumerProcessSettings

PROCESS = "todo-api-consumer"


def build_consumer(settings: ConsumerProcessSettings, startup: Startup) -> SqsConsumer:
    """The shared consumer loop on the todo-api's queue, handing each outcome to the bus.

    While the database is down the loop stops receiving and probes it, so a calendar result
    waits in the queue however long the outage lasts, instead of reaching the DLQ.
    """
    api = bootstrap(settings)
    handle = waiting_out_database_outages(api.bus.consume)
    return SqsConsumer.on_queue(
        settings,
        startup,
        handlers=dict.fromkeys(api.bus.handled_event_types(), handle),
        dependency_probe=lambda: database_answers(api.engine),
    )


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
