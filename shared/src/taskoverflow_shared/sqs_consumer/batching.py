"""Batch mode in the loop: hold messages across receives and hand them to one batch handler
together, deleting only those it did not fail (what to hold and when it is due: batch_mode.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from opentelemetry.trace import Span, SpanKind

from taskoverflow_shared.batch_mode import BatchMode, HeldBatch, HeldMessage
from taskoverflow_shared.events import UnprocessableEvent
from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.logging_setup import bound_trace
from taskoverflow_shared.sqs_consumer.delivery import Delivery
from taskoverflow_shared.sqs_consumer.message import envelope_text, span_attributes
from taskoverflow_shared.sqs_consumer.outcomes import PollResult
from taskoverflow_shared.sqs_consumer.qos import Lane, QoS
from taskoverflow_shared.tracing import (
    context_of,
    envelope_attributes_of,
    event_attributes,
    mark_failed,
    tracer,
    tracing_on,
)

# Receives up to this many messages, waiting at most this many seconds.
Receive = Callable[[int, int], list[dict[str, Any]]]

log = structlog.get_logger("taskoverflow.consumer")


@dataclass
class BatchReceiver:
    """What the loop holds for the batch handler, and how it receives into it and flushes it."""

    batch: BatchMode[Any]
    qos: QoS
    delivery: Delivery
    liveness: Liveness
    _held: HeldBatch[Any] = field(init=False)

    def __post_init__(self) -> None:
        self._held = HeldBatch(self.batch.max_messages, self.batch.max_age_seconds)

    @property
    def held(self) -> int:
        return len(self._held.held)

    def poll(self, receive: Receive, max_messages: int, wait_time_seconds: int) -> PollResult:
        """Receive, hold, and handle what is held once it is due."""
        wait_seconds = self._held.receive_wait_seconds(time.monotonic(), wait_time_seconds)
        messages = receive(max(min(max_messages, self._held.room), 1), wait_seconds)
        dead: list[tuple[dict[str, Any], str]] = []
        for message in messages:
            try:
                item = self.batch.decode(message)
                if self.delivery.producers is not None:
                    self.delivery.refuse_unexpected_source(self.batch.envelope_of(item))
            except UnprocessableEvent as unprocessable:
                with bound_trace(None, None):
                    log.error("message_dead_lettered", message_id=message["MessageId"], reason=unprocessable.reason)
                dead.append((message, unprocessable.reason))
                self.delivery.count(message, "dead_lettered")
                continue
            self._held.add(HeldMessage(message, item), time.monotonic())
            self.liveness.tick()
        if dead:
            self.qos.settle([Lane(dead=dead)])
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
        held = self._held.take()
        if not held:
            return PollResult()
        with self._spans(held) as spans:
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
            self.qos.acknowledge(succeeded)
        if failed and release_on_failure:
            try:
                self.qos.release(failed)
            except Exception:
                # They still come back, only after the visibility timeout.
                log.exception("release_failed", count=len(failed))
        self.qos.forget(failed)
        for message in succeeded:
            self.delivery.count(message, "handled")
        for message in failed:
            self.delivery.count(message, "failed")
        return PollResult(handled=len(succeeded), failed=len(failed))

    @contextmanager
    def _spans(self, held: Sequence[HeldMessage[Any]]) -> Iterator[dict[str, Span]]:
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
                    **span_attributes(message.message, self.delivery.queue_url),
                    "messaging.batch.message_count": len(held),
                },
            )
        try:
            yield spans
        finally:
            for span in spans.values():
                span.end()
