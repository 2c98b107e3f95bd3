"""`todo-api-consumer`: follow calendar jobs by consuming CalendarReady / CalendarFailed.

Exit codes as every worker's (taskoverflow_shared.worker_runtime): 0 after a graceful stop, 1
when the queue cannot be reached at start, 2 when the configuration is invalid.
"""

from __future__ import annotations

import sys

from taskoverflow_shared.sqs_consumer import SqsConsumer
from taskoverflow_shared.worker_runtime import Startup, run_worker
from todo_api.bootstrap import bootstrap
from todo_api.config import ConsumerProcessSettings

PROCESS = "todo-api-consumer"


def build_consumer(settings: ConsumerProcessSettings, startup: Startup) -> SqsConsumer:
    """The shared consumer loop on the todo-api's queue, handing each outcome to the bus."""
    bus = bootstrap(settings).bus
    return SqsConsumer.on_queue(settings, startup, handlers=dict.fromkeys(bus.handled_event_types(), bus.consume))


def main() -> int:
    return run_worker(PROCESS, ConsumerProcessSettings.from_environment, build_consumer)


if __name__ == "__main__":
    sys.exit(main())
