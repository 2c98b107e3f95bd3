"""`ical-worker`: consume CalendarRequested from the worker's queue until SIGTERM/SIGINT."""

from __future__ import annotations

import sys

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from ical_worker.bootstrap import bootstrap
from ical_worker.config import SERVICE, ConfigError, Settings
from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.heartbeat import Heartbeat
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.sqs_consumer import SqsConsumer, exit_on_signals_while_starting, run_until_signalled

log = structlog.get_logger("ical_worker.worker")


def main() -> None:
    configure_logging(SERVICE)
    try:
        settings = Settings.from_environment()
    except ConfigError as invalid:
        log.error("invalid_configuration", error=str(invalid))
        sys.exit(2)
    # The read timeout must outlast the long poll, or every idle receive would end in an error.
    sqs = make_client("sqs", read_timeout=settings.receive_wait_seconds + 10)
    queue = settings.queue
    with exit_on_signals_while_starting():
        log.info("worker_starting", queue=queue.name, startup_wait_seconds=settings.startup_wait_seconds)
        try:
            # `make run` starts the bootstrap beside us: queue_url waits for the queue to appear.
            urls = [queue_url(sqs, name, settings.startup_wait_seconds) for name in (queue.name, queue.dlq_name)]
            handlers = bootstrap(settings)
        except (BotoCoreError, ClientError) as unavailable:
            log.error("start_failed", queue=queue.name, error=str(unavailable))
            sys.exit(1)
    heartbeat = Heartbeat.from_environment()
    consumer = SqsConsumer(
        sqs=sqs,
        queue_url=urls[0],
        dead_letter_queue_url=urls[1],
        handlers=handlers,
        visibility_timeout_seconds=queue.visibility_timeout_seconds,
        wait_time_seconds=settings.receive_wait_seconds,
        max_messages=settings.max_messages,
        concurrency=settings.concurrency,
        heartbeat=heartbeat,
    )
    if heartbeat:
        # The loop beats after each receive, up to a long poll (20 s) from now: say "alive" at once.
        heartbeat.beat()
    run_until_signalled(consumer)
