"""The one SQS consumer loop every service runs: receive → parse → dispatch → acknowledge.

Delivery is at least once, so handlers must be idempotent. The loop deletes a message only
after its handler succeeded; a handler that raises leaves the message to come back after the
visibility timeout (and, after the queue's maxReceiveCount, SQS moves it to the DLQ). A message
that can never succeed (bad JSON, bad schema, unknown type or major version, a `source` that
topology.json does not declare a producer of its type) is moved to the DLQ at once with its
reason, so it neither crashes the worker nor blocks the queue.

A received batch is split into lanes: on a standard queue every distinct message is a lane of its
own, on a FIFO queue a lane is one message group in the order SQS gave it. With `concurrency` above
one, `run` keeps up to that many lanes going on a thread pool (handlers wait on S3, SNS, a
database or a webhook far more than they compute) and receives again as soon as one is free,
so a slow message never holds the queue behind it. Each lane settles its own messages when it
is done; lanes finishing together share DeleteMessageBatch requests (group commit), so a busy
consumer still acknowledges ten messages per request.

On a FIFO queue SQS hands out a message group's messages in order and no more of them while
one is in flight. The loop keeps that order: a lane is handled front to back, and once a
message of a group must be retried it releases the group's later messages unhandled, so they
come back after it instead of overtaking it.

In batch mode (`batch`, see batch_mode.py) the loop holds messages across receives and hands
them to one batch handler together, deleting only those it did not fail.

Every message the loop finishes counts in `events_consumed` (handled, failed or dead_lettered,
by event type) and, outside batch mode, its handling time in `event_handling_duration`
(metrics.py), so every service measures its events the same way.

The loop ticks its `liveness` at every step (each receive, each message handled or held), so
the heartbeat thread (heartbeat.py) tells a busy loop from a stuck one. `worker_runtime.py`
runs it with signals, start-up wait, logging and the heartbeat.
"""

from __future__ import annotations

import enum
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import structlog
from opentelemetry.trace import Span, SpanKind

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.batch_mode import BatchMode, HeldBatch, HeldMessage
from taskoverflow_shared.events import EVENT_TYPES, Envelope, EventData, UnprocessableEvent, parse_data, parse_envelope
from taskoverflow_shared.group_commit import GroupCommit
from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.logging_setup import bound_trace
from taskoverflow_shared.metrics import OTHER, Metrics, process_metrics
from taskoverflow_shared.settings import ConsumerSettings
from taskoverflow_shared.sns_publisher import REPLAYED_ATTRIBUTE
from taskoverflow_shared.sqs_batches import (
    OutgoingMessage,
    change_visibility_in_batches,
    delete_in_batches,
    resendable_attributes,
    send_in_batches,
)
from taskoverflow_shared.topology import FIFO_SUFFIX, load_topology
from taskoverflow_shared.tracing import (
    context_of,
    envelope_attributes_of,
    event_attributes,
    mark_failed,
    tracer,
    tracing_on,
)
from taskoverflow_shared.worker_runtime import Startup

Handler = Callable[[Envelope, EventData], None]

DEAD_LETTER_REASON_ATTRIBUTE = "dead_letter_reason"

log = structlog.get_logger("taskoverflow.consumer")


class DependencyUnavailable(Exception):
    """Raised by a handler whose own dependency (its database) is down: the event is fine and
    must wait, not count towards its dead-lettering. The loop stops receiving until the
    dependency answers again (`dependency_probe`), so an outage longer than the queue's redrive
    window (visibility timeout times receives) costs each message one receive, not all of them."""


class _Settled(enum.Enum):
    HANDLED = "handled"
    RETRY_LATER = "retry_later"
    WAIT_FOR_DEPENDENCY = "wait_for_dependency"


HANDLED: Final = _Settled.HANDLED
RETRY_LATER: Final = _Settled.RETRY_LATER
WAIT_FOR_DEPENDENCY: Final = _Settled.WAIT_FOR_DEPENDENCY
# Between probes of a dependency that is down: from the first to the longest, doubling.
DEPENDENCY_PROBE_FIRST_SECONDS = 1.0
DEPENDENCY_PROBE_LONGEST_SECONDS = 30.0


@dataclass(frozen=True)
class DeadLetter:
    reason: str


Outcome = _Settled | DeadLetter


@dataclass
class PollResult:
    """What one receive did (in batch mode, with the flush it made due), for tests and metrics."""

    handled: int = 0
    dead_lettered: int = 0
    failed: int = 0
    released: int = 0
    held: int = 0

    @property
    def received(self) -> int:
        return self.handled + self.dead_lettered + self.failed + self.released + self.held


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
    _in_flight: dict[str, str] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False)
    _lanes_changed: threading.Condition = field(default_factory=threading.Condition, init=False)
    _running_lanes: int = field(default=0, init=False)
    _last_receive_filled: bool = field(default=False, init=False)
    _deletes: GroupCommit[str, None] = field(init=False)
    _held: HeldBatch[Any] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._deletes = GroupCommit(self._delete_receipts)
        if self.batch is not None:
            self._held = HeldBatch(self.batch.max_messages, self.batch.max_age_seconds)

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
        return len(self._held.held) if self._held is not None else 0

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; the message in hand is finished, the rest released.

        In batch mode, what is held is then handled, or released for another worker at once.
        """
        extender = threading.Thread(target=self._extend_visibility_until, args=(stop,), daemon=True)
        extender.start()
        log.info("consumer_started", queue_url=self.queue_url, batch=self.batch is not None)
        self.liveness.tick()
        try:
            while not stop.is_set():
                if self._dependency_down.is_set():
                    self._wait_for_dependency(stop)
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
            if self._held is not None:
                self.handle_held(release_on_failure=True)
            log.info("consumer_stopped", queue_url=self.queue_url)

    def poll_once(self, stop: threading.Event | None = None) -> PollResult:
        """Receive one batch, handle it (lanes side by side when `concurrency` > 1) and settle it.

        In batch mode: receive, hold, and handle what is held once it is due.
        """
        if self._held is not None:
            return self._poll_into_batch()
        messages = self._receive(self.max_messages)
        result = PollResult()
        if not messages:
            return result
        self.busy = True
        try:
            lanes = self._run_lanes(_lanes(messages), stop)
            self._settle(lanes)
            for lane in lanes:
                result.handled += len(lane.acknowledged)
                result.dead_lettered += len(lane.dead)
                result.failed += lane.failed
                result.released += len(lane.unhandled)
            return result
        finally:
            self.busy = False

    def _receive(self, max_messages: int, wait_seconds: int | None = None) -> list[dict[str, Any]]:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=self.wait_time_seconds if wait_seconds is None else wait_seconds,
            # A standard queue has no MessageGroupId and leaves it out of the answer.
            MessageSystemAttributeNames=["ApproximateReceiveCount", "MessageGroupId", "SentTimestamp"],
            MessageAttributeNames=["All"],
        )
        self.liveness.tick()
        messages: list[dict[str, Any]] = response.get("Messages", [])
        self._last_receive_filled = len(messages) == max_messages
        with self._lock:
            self._in_flight.update({m["MessageId"]: m["ReceiptHandle"] for m in messages})
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
            for lane in _lanes(messages):
                with self._lanes_changed:
                    self._running_lanes += 1
                pool.submit(self._handle_and_settle, lane, stop)
            return len(messages)
        finally:
            self.busy = False

    def _handle_and_settle(self, messages: list[dict[str, Any]], stop: threading.Event) -> None:
        try:
            self._settle([self._handle_lane(messages, stop)])
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

    def _run_lanes(self, lanes: list[list[dict[str, Any]]], stop: threading.Event | None) -> list[_Lane]:
        if self.concurrency <= 1 or len(lanes) <= 1:
            return [self._handle_lane(lane, stop) for lane in lanes]
        return list(self._lane_pool().map(lambda lane: self._handle_lane(lane, stop), lanes))

    def _settle(self, lanes: Sequence[_Lane]) -> None:
        """Release what was not handled, dead-letter what never can be, delete the rest.

        If the dead letters cannot be sent, nothing of these lanes is deleted and the loop stops
        renewing their visibility: they all come back after the timeout, none is lost or stuck.
        """
        # Visible again at once, yet SQS keeps the group closed while the retried message
        # is in flight, so they return behind it. Leaving them to time out instead would
        # let moto hand them out before it, as it reopens a group per message, not per batch.
        unhandled = [message for lane in lanes for message in lane.unhandled]
        if unhandled:
            self._release(unhandled)
        dead = [entry for lane in lanes for entry in lane.dead]
        settled = [message for lane in lanes for message in lane.acknowledged] + [message for message, _ in dead]
        try:
            send_to_dead_letter_queue(self.sqs, self.dead_letter_queue_url, dead)
        except Exception:
            self._forget(settled)
            raise
        if settled:
            self._forget(settled)
            self._deletes.submit([message["ReceiptHandle"] for message in settled])

    def _handle_lane(self, messages: list[dict[str, Any]], stop: threading.Event | None) -> _Lane:
        """Handle one lane front to back; after a retry or a stop, its later messages stay unhandled."""
        lane = _Lane()
        for position, message in enumerate(messages):
            if stop is not None and stop.is_set():
                lane.unhandled.extend(messages[position:])
                break
            started = time.perf_counter()
            outcome = self._process(message)
            self.liveness.tick()
            self._measure(message, outcome, time.perf_counter() - started)
            if outcome is HANDLED:
                lane.acknowledged.append(message)
            elif outcome is RETRY_LATER or outcome is WAIT_FOR_DEPENDENCY:
                self._forget([message])
                lane.failed += 1
                lane.unhandled.extend(messages[position + 1 :])
                break
            else:
                lane.dead.append((message, outcome.reason))
        return lane

    def _process(self, message: dict[str, Any]) -> Outcome:
        try:
            envelope = parse_envelope(message["Body"])
        except UnprocessableEvent as unprocessable:
            with bound_trace(None, None):
                log.error("message_dead_lettered", message_id=message["MessageId"], reason=unprocessable.reason)
            return DeadLetter(unprocessable.reason)
        # A replay is the same event again: its lines say so, so nobody mistakes it for a new one.
        replay = {"replayed": True} if _attribute(message, REPLAYED_ATTRIBUTE) == "true" else {}
        # The event's trace goes on here: the handler's AWS calls and the events it emits are
        # children of this span.
        with (
            tracer.start_as_current_span(
                f"process {envelope.type}",
                context=context_of(envelope),
                kind=SpanKind.CONSUMER,
                attributes={**event_attributes(envelope), **self._span_attributes(message)},
            ) as span,
            bound_trace(envelope.id, envelope.correlation_id, **replay),
        ):
            handler = self.handlers.get(envelope.type)
            try:
                self._refuse_unexpected_source(envelope)
                if handler is None:
                    raise UnprocessableEvent(f"no handler for event type {envelope.type!r} on this queue")
                data = parse_data(envelope)
                started = time.perf_counter()
                handler(envelope, data)
            except UnprocessableEvent as unprocessable:
                log.error("message_dead_lettered", event_type=envelope.type, reason=unprocessable.reason)
                mark_failed(span, f"dead-lettered: {unprocessable.reason}")
                return DeadLetter(unprocessable.reason)
            except DependencyUnavailable as down:
                log.warning("dependency_unavailable", event_type=envelope.type, error=str(down)[:300])
                mark_failed(span, f"dependency unavailable: {down}")
                self._dependency_down.set()
                return WAIT_FOR_DEPENDENCY
            except Exception as error:
                receive_count = message.get("Attributes", {}).get("ApproximateReceiveCount")
                log.exception("handler_failed", event_type=envelope.type, receive_count=receive_count)
                span.record_exception(error)
                mark_failed(span, f"handler failed: {error}")
                return RETRY_LATER
            log.info(
                "event_handled",
                event_type=envelope.type,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return HANDLED

    def _refuse_unexpected_source(self, envelope: Envelope) -> None:
        """Raise UnprocessableEvent unless a producer of the event's type sent it.

        A replay or a redrive passes the event on as it was, so it keeps its original `source`.
        """
        if self.producers is None:
            return
        expected = self.producers.get(envelope.type, ())
        if envelope.source not in expected:
            raise UnprocessableEvent(
                f"unexpected source {envelope.source!r} for {envelope.type}: "
                + (f"only {', '.join(sorted(expected))} may produce it" if expected else "no service produces it")
            )

    def _span_attributes(self, message: dict[str, Any]) -> dict[str, str | int]:
        attributes: dict[str, str | int] = {
            "messaging.system": "aws_sqs",
            "messaging.operation.type": "process",
            "messaging.destination.name": self.queue_url.rsplit("/", 1)[-1],
            "messaging.message.id": message["MessageId"],
        }
        receive_count = message.get("Attributes", {}).get("ApproximateReceiveCount")
        if receive_count is not None:
            attributes["messaging.aws_sqs.receive_count"] = int(receive_count)
        return attributes

    @contextmanager
    def _batch_spans(self, held: Sequence[HeldMessage[Any]]) -> Iterator[dict[str, Span]]:
        """One span per held message, each in its own event's trace, for as long as the batch
        handler runs; yields them by message id so the failed ones can be marked."""
        spans: dict[str, Span] = {}
        for message in held:
            attributes = envelope_attributes_of(envelope_text(message.message)) if tracing_on() else {}
            spans[message.message_id] = tracer.start_span(
                f"process {attributes.get('type', 'message')}",
                context=context_of(attributes),
                kind=SpanKind.CONSUMER,
                attributes={
                    **event_attributes(attributes),
                    **self._span_attributes(message.message),
                    "messaging.batch.message_count": len(held),
                },
            )
        try:
            yield spans
        finally:
            for span in spans.values():
                span.end()

    def _wait_for_dependency(self, stop: threading.Event) -> None:
        """Receive nothing until the probe passes: the messages wait in the queue, their receive
        counts untouched. The loop is alive meanwhile, so it keeps ticking its liveness."""
        delay = DEPENDENCY_PROBE_FIRST_SECONDS
        while not stop.wait(delay):
            self.liveness.tick()
            if self.dependency_probe is None:
                break
            try:
                self.dependency_probe()
                break
            except Exception as still_down:
                log.warning("dependency_still_unavailable", error=str(still_down)[:300], retry_in_seconds=delay)
                delay = min(delay * 2, DEPENDENCY_PROBE_LONGEST_SECONDS)
        if not stop.is_set():
            log.info("dependency_available")
        self._dependency_down.clear()

    def _poll_into_batch(self) -> PollResult:
        assert self.batch is not None and self._held is not None
        wait_seconds = self._held.receive_wait_seconds(time.monotonic(), self.wait_time_seconds)
        messages = self._receive(max(min(self.max_messages, self._held.room), 1), wait_seconds)
        dead: list[tuple[dict[str, Any], str]] = []
        for message in messages:
            try:
                item = self.batch.decode(message)
                if self.producers is not None:
                    self._refuse_unexpected_source(self.batch.envelope_of(item))
            except UnprocessableEvent as unprocessable:
                with bound_trace(None, None):
                    log.error("message_dead_lettered", message_id=message["MessageId"], reason=unprocessable.reason)
                dead.append((message, unprocessable.reason))
                self._count(message, "dead_lettered")
                continue
            self._held.add(HeldMessage(message, item), time.monotonic())
            self.liveness.tick()
        if dead:
            self._settle([_Lane(dead=dead)])
        result = PollResult(dead_lettered=len(dead))
        if self._held.is_due(time.monotonic()):
            result = self.handle_held()
            result.dead_lettered = len(dead)
        result.held = self.held
        return result

    def handle_held(self, *, release_on_failure: bool = False) -> PollResult:
        """Hand what is held to the batch handler; delete what it did not fail.

        What failed comes back after the visibility timeout, which spaces out the retries (and
        after maxReceiveCount SQS moves it to the DLQ); on the way out (`release_on_failure`) it is
        made visible at once instead, for another worker.
        """
        assert self.batch is not None and self._held is not None
        held = self._held.take()
        if not held:
            return PollResult()
        with self._batch_spans(held) as spans:
            try:
                failed_ids = set(self.batch.handle(held))
            except Exception:
                log.exception("batch_failed", messages=len(held), released=release_on_failure)
                failed_ids = {message.message_id for message in held}
            for message_id in failed_ids & spans.keys():
                mark_failed(spans[message_id], "batch handler failed")
        self.liveness.tick()
        failed = [h.message for h in held if h.message_id in failed_ids]
        succeeded = [h.message for h in held if h.message_id not in failed_ids]
        if succeeded:
            self._forget(succeeded)
            self._deletes.submit([message["ReceiptHandle"] for message in succeeded])
        if failed and release_on_failure:
            try:
                self._release(failed)
            except Exception:
                # They still come back, only after the visibility timeout.
                log.exception("release_failed", count=len(failed))
        self._forget(failed)
        for message in succeeded:
            self._count(message, "handled")
        for message in failed:
            self._count(message, "failed")
        return PollResult(handled=len(succeeded), failed=len(failed))

    def _measure(self, message: dict[str, Any], outcome: Outcome, seconds: float) -> None:
        event_type = _event_type(message)
        if outcome is HANDLED:
            self._count(message, "handled", event_type)
        elif isinstance(outcome, DeadLetter):
            self._count(message, "dead_lettered", event_type)
        else:
            self._count(message, "failed", event_type)
        self.metrics.observe("event_handling_duration", seconds, event_type=event_type)

    def _count(self, message: dict[str, Any], outcome: str, event_type: str | None = None) -> None:
        self.metrics.count("events_consumed", event_type=event_type or _event_type(message), outcome=outcome)

    def _delete_receipts(self, receipt_handles: list[str]) -> None:
        for failure in delete_in_batches(self.sqs, self.queue_url, receipt_handles):
            # Not fatal: the message comes back and the idempotent handler absorbs it.
            log.warning("delete_failed", failure=failure)

    def _release(self, messages: Sequence[dict[str, Any]]) -> int:
        """Make unprocessed messages visible again now, for another worker, instead of later."""
        self._forget(messages)
        change_visibility_in_batches(self.sqs, self.queue_url, [m["ReceiptHandle"] for m in messages], 0)
        log.info("messages_released", count=len(messages))
        return len(messages)

    def _forget(self, messages: Sequence[dict[str, Any]]) -> None:
        with self._lock:
            for message in messages:
                self._in_flight.pop(message["MessageId"], None)

    def _extend_visibility_until(self, stop: threading.Event) -> None:
        """Keep long work invisible to other workers: renew at a third of the timeout."""
        interval = max(self.visibility_timeout_seconds / 3, 1)
        while not stop.wait(interval):
            with self._lock:
                in_flight = list(self._in_flight.values())
            if not in_flight:
                continue
            try:
                change_visibility_in_batches(self.sqs, self.queue_url, in_flight, self.visibility_timeout_seconds)
                log.info("visibility_extended", count=len(in_flight))
            except Exception:
                log.exception("visibility_extension_failed")


def send_to_dead_letter_queue(sqs: Any, dead_letter_queue_url: str, dead: Sequence[tuple[dict[str, Any], str]]) -> None:
    """Send received messages (as ReceiveMessage returned them) to the DLQ, each with its reason.

    Raises if SQS refuses any: the caller must then not delete them (they come back and are
    tried again), or they would be lost.
    """
    fifo = dead_letter_queue_url.endswith(FIFO_SUFFIX)
    outgoing = [
        OutgoingMessage(
            key=message["MessageId"],
            body=message["Body"],
            attributes={
                **resendable_attributes(message.get("MessageAttributes", {})),
                DEAD_LETTER_REASON_ATTRIBUTE: {"DataType": "String", "StringValue": reason[:1000]},
            },
            # A FIFO DLQ wants both ids. The original group keeps a redrive in the old order; the
            # message id makes a second dead-lettering of the same message (we crashed before
            # deleting it) a duplicate that SQS drops.
            group_id=(_message_group(message) or message["MessageId"]) if fifo else None,
            deduplication_id=message["MessageId"] if fifo else None,
        )
        for message, reason in dead
    ]
    result = send_in_batches(sqs, dead_letter_queue_url, outgoing)
    if result.failed:
        raise RuntimeError(f"could not dead-letter messages: {result.failed}")


@dataclass
class _Lane:
    """What handling one lane came to."""

    acknowledged: list[dict[str, Any]] = field(default_factory=list)
    dead: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    failed: int = 0
    unhandled: list[dict[str, Any]] = field(default_factory=list)


def _lanes(messages: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """A FIFO batch by message group, in received order; on a standard queue, one lane per body.

    Copies of one message (SQS delivers at least once, sometimes twice in one batch) share a lane,
    so the second copy's handler sees what the first one did and its idempotency check holds.
    """
    lanes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in messages:
        lanes[_message_group(message) or message.get("MD5OfBody") or message["MessageId"]].append(message)
    return list(lanes.values())


def _message_group(message: dict[str, Any]) -> str | None:
    """The FIFO message group a message was received in; None on a standard queue."""
    group: str | None = message.get("Attributes", {}).get("MessageGroupId")
    return group


def _event_type(message: dict[str, Any]) -> str:
    """The event type a message says it carries, for its metrics: the publisher's `type` attribute,
    else the body's; a type events.py does not define is "other", so no message adds a metric."""
    event_type = _attribute(message, load_topology().message_type_attribute)
    if event_type is None:
        try:
            event_type = json.loads(envelope_text(message)).get("type")
        except (ValueError, AttributeError):
            event_type = None
    return event_type if isinstance(event_type, str) and event_type in EVENT_TYPES else OTHER


def _attribute(message: dict[str, Any], name: str) -> str | None:
    value: str | None = message.get("MessageAttributes", {}).get(name, {}).get("StringValue")
    return value


def envelope_text(message: dict[str, Any]) -> str:
    """The envelope a message carries, as text; unwrapped when the subscription wraps it
    (raw message delivery switched off)."""
    body: str = message["Body"]
    try:
        notification = json.loads(body)
    except ValueError:
        return body
    if isinstance(notification, dict) and notification.get("Type") == "Notification":
        inner = notification.get("Message")
        if isinstance(inner, str):
            return inner
    return body


def sent_at(message: dict[str, Any]) -> datetime:
    """When SQS accepted the message (its SentTimestamp): the arrival time."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(message["Attributes"]["SentTimestamp"]))
