"""The loop itself: receive, hand each lane to its delivery, settle; the parts it drives live
beside it (channel, QoS, delivery, lanes, batching, outage)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.batch_mode import BatchMode
from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.metrics import Metrics, process_metrics
from taskoverflow_shared.settings import ConsumerSettings
from taskoverflow_shared.sqs_consumer.batching import BatchReceiver
from taskoverflow_shared.sqs_consumer.channel import Channel
from taskoverflow_shared.sqs_consumer.delivery import Delivery, Handler
from taskoverflow_shared.sqs_consumer.lanes import handle_lane, lanes_of
from taskoverflow_shared.sqs_consumer.outage import wait_for_dependency
from taskoverflow_shared.sqs_consumer.outcomes import PollResult
from taskoverflow_shared.sqs_consumer.qos import Lane, QoS
from taskoverflow_shared.topology import load_topology
from taskoverflow_shared.worker_runtime import Startup

log = structlog.get_logger("taskoverflow.consumer")


@dataclass
class SqsConsumer:
    sqs: Any
    queue_url: str
    dead_letter_queue_url: str
    handlers: Mapping[str, Handler]
    visibility_timeout_seconds: int
    wait_time_seconds: int = 20
    max_messages: int = 10
    # Ticked at every step of the loop; the runtime's heartbeat thread watches it.
    liveness: Liveness = field(default_factory=Liveness)
    # Hold messages across receives and handle them together (see batch_mode.py).
    batch: BatchMode[Any] | None = None
    # Lanes handled at once; handlers must then be thread-safe (boto3 clients, SQLAlchemy
    # session factories and our locked SQLite delivery log are).
    concurrency: int = 1
    # After a receive that did not fill a batch, wait until this long after it before the next
    # one (as Lambda's MaximumBatchingWindowInSeconds does): a consumer nobody waits on then
    # takes its messages ten at a time instead of one receive and one delete per message.
    batching_window_seconds: float = 0.0
    # Raises while the handlers' own dependency is down (see DependencyUnavailable); without
    # one, the loop waits DEPENDENCY_PROBE_FIRST_SECONDS and tries the next message.
    dependency_probe: Callable[[], object] | None = None
    # Events handled, failed and dead-lettered, by type, and how long each took (custom_metrics.json).
    metrics: Metrics = field(default_factory=process_metrics)
    # Event type => the services that may produce it (topology.json's `publishers`; `on_queue`
    # passes them). An event whose `source` is not among them is dead-lettered with the reason:
    # a forged event, or one sent by a service the topology does not let announce it. None
    # checks nothing (a loop built by hand, as tests and benchmarks do).
    producers: Mapping[str, Collection[str]] | None = None
    busy: bool = field(default=False, init=False)
    _dependency_down: threading.Event = field(default_factory=threading.Event, init=False)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False)
    _lanes_changed: threading.Condition = field(default_factory=threading.Condition, init=False)
    _running_lanes: int = field(default=0, init=False)
    _last_receive_filled: bool = field(default=False, init=False)
    _channel: Channel = field(init=False)
    _qos: QoS = field(init=False)
    _delivery: Delivery = field(init=False)
    _batch: BatchReceiver | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._channel = Channel(self.sqs, self.queue_url, self.dead_letter_queue_url)
        self._qos = QoS(self._channel, self.visibility_timeout_seconds)
        self._delivery = Delivery(self.handlers, self.queue_url, self.metrics, self._dependency_down, self.producers)
        if self.batch is not None:
            self._batch = BatchReceiver(self.batch, self._qos, self._delivery, self.liveness)

    @classmethod
    def on_queue(
        cls, settings: ConsumerSettings, startup: Startup | None = None, *, sqs: Any | None = None, **options: Any
    ) -> SqsConsumer:
        """The loop on the service's queue, once it and its DLQ exist (waiting within `startup`'s
        deadline, or the settings' start-up wait); `options` are the loop's other fields."""
        # The read timeout must outlast the long poll, or every idle receive would end in an error.
        sqs = sqs or make_client("sqs", read_timeout=settings.receive_wait_seconds + 10)
        startup = startup or Startup.now(settings.startup_wait_seconds)
        queue_url, dead_letter_queue_url = startup.queue_urls(sqs, settings.queue)
        return cls(
            sqs=sqs,
            queue_url=queue_url,
            dead_letter_queue_url=dead_letter_queue_url,
            visibility_timeout_seconds=settings.queue.visibility_timeout_seconds,
            wait_time_seconds=settings.receive_wait_seconds,
            **{"producers": load_topology().producers, **options},
        )

    @property
    def interruptible(self) -> bool:
        """A stop may cut the long poll short while no message is in hand.

        Not in batch mode: the messages of an abandoned poll would stay invisible for a whole
        visibility timeout, and a batch consumer (the archiver) polls for a few seconds only.
        """
        return self.batch is None and not self.busy

    @property
    def held(self) -> int:
        """Messages held for the next batch (batch mode)."""
        return self._batch.held if self._batch is not None else 0

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; the message in hand is finished, the rest released.

        In batch mode, what is held is then handled, or released for another worker at once.
        """
        extender = threading.Thread(target=self._qos.keep_invisible_until, args=(stop,), daemon=True)
        extender.start()
        log.info("consumer_started", queue_url=self.queue_url, batch=self.batch is not None)
        self.liveness.tick()
        try:
            while not stop.is_set():
                if self._dependency_down.is_set():
                    wait_for_dependency(stop, self.dependency_probe, self.liveness)
                    self._dependency_down.clear()
                    continue
                try:
                    started = time.monotonic()
                    if self.concurrency > 1 and self.batch is None:
                        received = self._receive_into_free_lanes(stop)
                    else:
                        received = self.poll_once(stop).received
                    if received and not self._last_receive_filled and self.batching_window_seconds:
                        stop.wait(self.batching_window_seconds - (time.monotonic() - started))
                except Exception:
                    # The broker may be briefly unreachable: back off instead of spinning.
                    log.exception("receive_failed")
                    stop.wait(1.0)
                # A loop retrying against an unreachable broker is alive: a restart would not help.
                self.liveness.tick()
        finally:
            if self._pool is not None:
                # Lanes still going finish the message in hand and release the rest (they see `stop`).
                self._pool.shutdown(wait=True)
                self._pool = None
            if self._batch is not None:
                self._batch.handle_held(release_on_failure=True)
            log.info("consumer_stopped", queue_url=self.queue_url)

    def poll_once(self, stop: threading.Event | None = None) -> PollResult:
        """Receive one batch, handle it (lanes side by side when `concurrency` > 1) and settle it.

        In batch mode: receive, hold, and handle what is held once it is due.
        """
        if self._batch is not None:
            return self._batch.poll(self._receive, self.max_messages, self.wait_time_seconds)
        messages = self._receive(self.max_messages)
        result = PollResult()
        if not messages:
            return result
        self.busy = True
        try:
            lanes = self._run_lanes(lanes_of(messages), stop)
            self._qos.settle(lanes)
            for lane in lanes:
                result.handled += len(lane.acknowledged)
                result.dead_lettered += len(lane.dead)
                result.failed += lane.failed
                result.released += len(lane.unhandled)
            return result
        finally:
            self.busy = False

    def handle_held(self, *, release_on_failure: bool = False) -> PollResult:
        """Hand what is held to the batch handler; delete what it did not fail.

        What failed comes back after the visibility timeout, which spaces out the retries (and
        after maxReceiveCount SQS moves it to the DLQ); on the way out (`release_on_failure`) it is
        made visible at once instead, for another worker.
        """
        assert self._batch is not None
        return self._batch.handle_held(release_on_failure=release_on_failure)

    def _receive(self, max_messages: int, wait_seconds: int | None = None) -> list[dict[str, Any]]:
        messages = self._channel.receive(max_messages, self.wait_time_seconds if wait_seconds is None else wait_seconds)
        self.liveness.tick()
        self._last_receive_filled = len(messages) == max_messages
        self._qos.received(messages)
        return messages

    def _receive_into_free_lanes(self, stop: threading.Event) -> int:
        """Receive as many messages as lanes are free, and start their lanes without waiting for them;
        return how many were received."""
        with self._lanes_changed:
            while self._running_lanes >= self.concurrency and not stop.is_set():
                # A stop from another thread does not notify: look again every second.
                self._lanes_changed.wait(1.0)
            free = self.concurrency - self._running_lanes
        if stop.is_set():
            return 0
        messages = self._receive(min(self.max_messages, free))
        if not messages:
            return 0
        self.busy = True
        try:
            pool = self._lane_pool()
            for lane in lanes_of(messages):
                with self._lanes_changed:
                    self._running_lanes += 1
                pool.submit(self._handle_and_settle, lane, stop)
            return len(messages)
        finally:
            self.busy = False

    def _handle_and_settle(self, messages: list[dict[str, Any]], stop: threading.Event) -> None:
        try:
            self._qos.settle([self._handle_lane(messages, stop)])
        except Exception:
            log.exception("settle_failed", count=len(messages))
        finally:
            with self._lanes_changed:
                self._running_lanes -= 1
                self._lanes_changed.notify_all()

    def _lane_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="lane")
        return self._pool

    def _run_lanes(self, lanes: list[list[dict[str, Any]]], stop: threading.Event | None) -> list[Lane]:
        if self.concurrency <= 1 or len(lanes) <= 1:
            return [self._handle_lane(lane, stop) for lane in lanes]
        return list(self._lane_pool().map(lambda lane: self._handle_lane(lane, stop), lanes))

    def _handle_lane(self, messages: list[dict[str, Any]], stop: threading.Event | None) -> Lane:
        return handle_lane(messages, stop, delivery=self._delivery, qos=self._qos, liveness=self.liveness)
