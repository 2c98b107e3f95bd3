"""`ical-worker`: consume CalendarRequested from the worker's queue until SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from ical_worker.bootstrap import bootstrap
from ical_worker.config import SERVICE, ConfigError, Settings
from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.heartbeat import Heartbeat
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.sqs_consumer import SqsConsumer, run_until_signalled

log = structlog.get_logger("ical_worker.worker")


def main() -> None:
    configure_logging(SERVICE)
    try:
        settings = Settings.from_environment()
    except ConfigError as invalid:
        log.error("invalid_configuration", error=str(invalid))
        sys.exit(2)
    stop = threading.Event()
    # The read timeout must outlast the long poll, or every idle receive would end in an error.
    sqs = make_client("sqs", read_timeout=settings.receive_wait_seconds + 10)
    with _stop_on_signals(stop):
        urls = _wait_for_queue(sqs, settings, stop)
    if urls is None:
        return
    heartbeat = Heartbeat.from_environment()
    consumer = SqsConsumer(
        sqs=sqs,
        queue_url=urls[0],
        dead_letter_queue_url=urls[1],
        handlers=bootstrap(settings),
        visibility_timeout_seconds=settings.queue.visibility_timeout_seconds,
        wait_time_seconds=settings.receive_wait_seconds,
        max_messages=settings.max_messages,
        heartbeat=heartbeat,
    )
    if heartbeat:
        # The loop beats after each receive, up to a long poll (20 s) from now: say "alive" at once.
        heartbeat.beat()
    run_until_signalled(consumer, stop)


def _wait_for_queue(sqs: Any, settings: Settings, stop: threading.Event) -> tuple[str, str] | None:
    """The queue and DLQ URLs, waiting while the emulator or the topology bootstrap is still starting.

    Returns None if asked to stop meanwhile; raises once `startup_wait_seconds` have passed.
    """
    deadline = time.monotonic() + settings.startup_wait_seconds
    while not stop.is_set():
        try:
            return queue_url(sqs, settings.queue.name), queue_url(sqs, settings.queue.dlq_name)
        except (BotoCoreError, ClientError) as not_yet:
            if time.monotonic() > deadline:
                raise
            log.info("waiting_for_queue", queue=settings.queue.name, error=str(not_yet))
            stop.wait(1.0)
    return None


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
