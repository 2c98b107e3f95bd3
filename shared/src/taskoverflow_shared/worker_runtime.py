"""How every worker process starts, runs and stops: one `run_worker` for every main.

A worker main is three lines: the service name, how to read its settings, how to build its loop.

    def main() -> int:
        return run_worker(SERVICE, Settings.from_environment, build_consumer)

`run_worker` then, in this order:
1. sets up structlog JSON logging tagged with the service;
2. reads the settings, and sets up tracing (`OTEL_TRACES_EXPORTER`, see tracing.py); invalid ones
   are logged and printed, naming each variable: exit 2;
3. builds the loop within one start-up deadline (`Startup`, `<PREFIX>_STARTUP_WAIT_SECONDS`):
   `make run` and compose start the emulator and the bootstrap beside the workers, so the
   queues may take a few seconds to exist; unreachable after the deadline: exit 1. A
   SIGTERM/SIGINT during the start ends it at once (exit 0): nothing is in hand yet;
4. starts the heartbeat thread (`HEARTBEAT_FILE`, see heartbeat.py) on the loop's `liveness`
   (the metrics' export, `METRICS_EXPORTER` and `METRICS_PORT` of metrics.py, labelled with the
   service the settings belong to, started before step 3);
5. runs the loop in the main thread until SIGTERM/SIGINT sets its stop flag, then writes the
   last metrics: exit 0.

A loop is anything with `run(stop)`, a `liveness` it ticks at each step, and `interruptible`
(True while a stop may cut its wait short because nothing is in hand): the SQS consumer
(the sqs_consumer package) in either mode, and equally the outbox relay — a `while not stop.is_set()`
loop that ticks once per claim-and-publish round and is never interruptible (it waits on
`stop.wait`, which a signal ends anyway).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from taskoverflow_shared.addresses import queue_url
from taskoverflow_shared.heartbeat import Heartbeat, HeartbeatThread, Liveness
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.metrics import MetricsSettings, start_metrics
from taskoverflow_shared.settings import SettingsError, WorkerSettings
from taskoverflow_shared.topology import QueueSpec
from taskoverflow_shared.tracing import TracingSettings, configure_tracing

log = structlog.get_logger("taskoverflow.worker")

EXIT_STOPPED = 0
EXIT_UNAVAILABLE = 1
EXIT_INVALID_CONFIGURATION = 2


class Loop(Protocol):
    """A worker's main loop, run by `run_until_stopped`."""

    liveness: Liveness

    @property
    def interruptible(self) -> bool:
        """True while the loop only waits with nothing in hand, so a stop may leave the wait at once."""
        ...

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set, ticking `liveness` at every step; finish or release what is in hand."""
        ...


SettingsT = TypeVar("SettingsT", bound=WorkerSettings)


@dataclass
class Startup:
    """The start-up deadline every dependency a loop waits for shares."""

    wait_seconds: float
    started_at: float
    # What the start is waiting for now, for the log line if it never comes (e.g. {"queue": name}).
    waiting_for: dict[str, str] = field(default_factory=dict)

    @classmethod
    def now(cls, wait_seconds: float) -> Startup:
        return cls(wait_seconds, time.monotonic())

    def seconds_left(self) -> float:
        return max(self.started_at + self.wait_seconds - time.monotonic(), 0.0)

    def queue_urls(self, sqs: Any, queue: QueueSpec) -> tuple[str, str]:
        """The URLs of the queue and its DLQ, waiting (within the deadline) for them to exist."""
        urls = []
        for name in (queue.name, queue.dlq_name):
            self.waiting_for = {"queue": name}
            urls.append(queue_url(sqs, name, self.seconds_left()))
        self.waiting_for = {}
        return urls[0], urls[1]


def run_worker(
    service: str,
    read_settings: Callable[[], SettingsT],
    build: Callable[[SettingsT, Startup], Loop],
) -> int:
    """Start, run and stop one worker process; return its exit code (see the module docstring)."""
    configure_logging(service)
    try:
        settings = read_settings()
        metrics_settings = MetricsSettings.from_environment()
        tracing_settings = TracingSettings.from_environment()
    except SettingsError as invalid:
        log.error("invalid_configuration", problems=invalid.problems)
        print(invalid, file=sys.stderr)
        return EXIT_INVALID_CONFIGURATION
    configure_tracing(service, tracing_settings)
    # Before the loop is built, so what the build registers (a gauge it tracks) is exported.
    export = start_metrics(settings.service, metrics_settings)
    try:
        return _build_and_run(settings, build)
    finally:
        export.stop()


def _build_and_run(settings: SettingsT, build: Callable[[SettingsT, Startup], Loop]) -> int:
    with exit_on_signals_while_starting():
        log.info("worker_starting", startup_wait_seconds=settings.startup_wait_seconds)
        startup = Startup.now(settings.startup_wait_seconds)
        try:
            loop = build(settings, startup)
        except (BotoCoreError, ClientError) as unavailable:
            log.error("start_failed", error=str(unavailable), **startup.waiting_for)
            return EXIT_UNAVAILABLE
    heartbeat = None
    if settings.heartbeat_file is not None:
        heartbeat = HeartbeatThread(
            Heartbeat(settings.heartbeat_file),
            loop.liveness,
            max_silence_seconds=settings.heartbeat_max_silence_seconds,
            interval_seconds=min(5.0, settings.heartbeat_max_silence_seconds / 3),
        )
    run_until_stopped(loop, heartbeat=heartbeat)
    return EXIT_STOPPED


class _StopNow(BaseException):
    """Raised from the signal handler to leave a wait when nothing is in hand."""


def run_until_stopped(
    loop: Loop, stop: threading.Event | None = None, *, heartbeat: HeartbeatThread | None = None
) -> None:
    """Run `loop` in this (main) thread until SIGTERM/SIGINT; the heartbeat beats meanwhile.

    The signal sets the stop flag; the loop finishes or releases what it holds and returns. If
    it is only waiting (say, on a long poll) and says it may be interrupted, it leaves at once.
    """
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        interruptible = loop.interruptible
        log.info("shutdown_requested", signal=signal.Signals(signum).name, busy=not interruptible)
        stop.set()
        if interruptible:
            raise _StopNow

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    if heartbeat is not None:
        heartbeat.start()
    try:
        loop.run(stop)
    except _StopNow:
        stop.set()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if heartbeat is not None:
            heartbeat.stop()


@contextmanager
def exit_on_signals_while_starting() -> Iterator[None]:
    """Until the loop runs, SIGTERM/SIGINT end the start cleanly (exit 0): nothing is in hand yet."""

    def leave(signum: int, _frame: object) -> None:
        log.info("shutdown_requested", signal=signal.Signals(signum).name, during="start")
        raise SystemExit(EXIT_STOPPED)

    previous = {sig: signal.signal(sig, leave) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
