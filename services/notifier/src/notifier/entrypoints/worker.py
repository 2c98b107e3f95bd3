"""`notifier`: consume the notifier queue until SIGTERM/SIGINT, delivering webhooks and e-mail.

Exit codes: 0 after a graceful stop, 1 when the queue cannot be reached at start, 2 when the
configuration is invalid (see taskoverflow_shared.worker_runtime).
"""

from __future__ import annotations

import sys
from typing import Any

from notifier.bootstrap import bootstrap
from notifier.config import SERVICE, Settings
from taskoverflow_shared.sqs_consumer import SqsConsumer
from taskoverflow_shared.worker_runtime import Startup, run_worker


def build_consumer(settings: Settings, startup: Startup | None = None, *, sqs: Any | None = None) -> SqsConsumer:
    """The shared consumer loop on the notifier queue, dispatching to real adapters."""
    # Deliveries nobody waits on gather in a batching window (NOTIFIER_BATCHING_WINDOW_SECONDS).
    window = settings.batching_window_seconds
    handlers = bootstrap(settings)
    return SqsConsumer.on_queue(
        settings, startup, sqs=sqs, handlers=handlers, concurrency=settings.concurrency, batching_window_seconds=window
    )


def main() -> int:
    return run_worker(SERVICE, Settings.from_environment, build_consumer)


if __name__ == "__main__":
    sys.exit(main())
