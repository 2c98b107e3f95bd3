"""`ical-worker`: consume CalendarRequested from the worker's queue until SIGTERM/SIGINT.

Exit codes: 0 after a graceful stop, 1 when the queue cannot be reached at start, 2 when the
configuration is invalid (see taskoverflow_shared.worker_runtime).
"""

from __future__ import annotations

import sys

from ical_worker.bootstrap import bootstrap
from ical_worker.config import SERVICE, Settings
from taskoverflow_shared.sqs_consumer import SqsConsumer
from taskoverflow_shared.worker_runtime import Startup, run_worker


def build_consumer(settings: Settings, startup: Startup) -> SqsConsumer:
    """The shared consumer loop on the worker's queue, dispatching to real adapters."""
    handlers = bootstrap(settings)
    return SqsConsumer.on_queue(
        settings, startup, handlers=handlers, max_messages=settings.max_messages, concurrency=settings.concurrency
    )


def main() -> int:
    return run_worker(SERVICE, Settings.from_environment, build_consumer)


if __name__ == "__main__":
    sys.exit(main())
