"""`notifier`: consume the notifier queue until SIGTERM/SIGINT, delivering webhooks and e-mail.

Exit codes: 0 after a graceful stop, 2 when the configuration is invalid.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import structlog

from notifier.bootstrap import bootstrap
from notifier.config import ConfigError, Settings
from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.heartbeat import Heartbeat
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.sqs_consumer import SqsConsumer, run_until_signalled
from taskoverflow_shared.topology import load_topology

log = structlog.get_logger("notifier.worker")


def build_consumer(settings: Settings, *, sqs: Any | None = None, wait_time_seconds: int | None = None) -> SqsConsumer:
    """The shared consumer loop on the notifier queue, dispatching to real adapters."""
    topology = load_topology()
    queue = topology.queue_for("notifier")
    sqs = sqs or make_client("sqs")
    return SqsConsumer(
        sqs=sqs,
        queue_url=queue_url(sqs, queue.name),
        dead_letter_queue_url=queue_url(sqs, queue.dlq_name),
        handlers=bootstrap(settings),
        visibility_timeout_seconds=queue.visibility_timeout_seconds,
        wait_time_seconds=topology.receive_wait_time_seconds if wait_time_seconds is None else wait_time_seconds,
        heartbeat=Heartbeat.from_environment(),
        concurrency=settings.concurrency,
        batching_window_seconds=settings.batching_window_seconds,
    )


def main() -> int:
    configure_logging("notifier")
    try:
        settings = Settings.from_environment(os.environ)
    except ConfigError as invalid:
        log.error("invalid_configuration", problems=invalid.problems)
        print(invalid, file=sys.stderr)
        return 2
    run_until_signalled(build_consumer(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
