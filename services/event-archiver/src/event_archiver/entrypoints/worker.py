"""`event-archiver`: archive every event of the topic to S3 until SIGTERM/SIGINT.

Exit codes: 0 after a graceful stop (what was held is stored or released), 1 when the queue
cannot be reached at start, 2 when the configuration is invalid.
"""

from __future__ import annotations

import signal
import sys
import threading

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from event_archiver.batch_consumer import ArchiveConsumer
from event_archiver.bootstrap import bootstrap
from event_archiver.config import SERVICE, ConfigError, Settings
from taskoverflow_shared.heartbeat import Heartbeat
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.sqs_consumer import exit_on_signals_while_starting

log = structlog.get_logger("event_archiver.worker")


def main() -> int:
    configure_logging(SERVICE)
    try:
        settings = Settings.from_environment()
    except ConfigError as invalid:
        log.error("invalid_configuration", problems=invalid.problems)
        print(invalid, file=sys.stderr)
        return 2
    with exit_on_signals_while_starting():
        log.info("worker_starting", queue=settings.queue.name, bucket=settings.bucket, prefix=settings.prefix)
        try:
            consumer = bootstrap(settings, heartbeat=Heartbeat.from_environment())
        except (BotoCoreError, ClientError) as unavailable:
            log.error("start_failed", queue=settings.queue.name, error=str(unavailable))
            return 1
    run_until_signalled(consumer)
    return 0


def run_until_signalled(consumer: ArchiveConsumer, stop: threading.Event | None = None) -> None:
    """Run the loop in this (main) thread; SIGTERM/SIGINT stop it, and what it holds is stored.

    The signal does not cut the current long poll short: SQS would still hand the messages of an
    abandoned poll to nobody, and they would stay invisible for a whole visibility timeout. The
    poll ends within EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS (5 s by default), then the loop stops.
    """
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("shutdown_requested", signal=signal.Signals(signum).name, held=len(consumer.buffer.held))
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        consumer.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
