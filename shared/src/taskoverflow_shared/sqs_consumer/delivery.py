"""One delivery: parse the message, check who sent it, run its handler in the event's trace,
and say what became of it (handled, retry later, wait for the dependency, or dead-letter)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from opentelemetry.trace import SpanKind

from taskoverflow_shared.events import Envelope, EventData, UnprocessableEvent, parse_data, parse_envelope
from taskoverflow_shared.logging_setup import bound_trace
from taskoverflow_shared.metrics import Metrics
from taskoverflow_shared.sns_publisher import REPLAYED_ATTRIBUTE
from taskoverflow_shared.sqs_consumer.message import attribute, event_type, receive_count, span_attributes
from taskoverflow_shared.sqs_consumer.outage import DependencyUnavailable
from taskoverflow_shared.sqs_consumer.outcomes import HANDLED, RETRY_LATER, WAIT_FOR_DEPENDENCY, DeadLetter, Outcome
from taskoverflow_shared.tracing import context_of, event_attributes, mark_failed, tracer

Handler = Callable[[Envelope, EventData], None]

log = structlog.get_logger("taskoverflow.consumer")


@dataclass(frozen=True)
class Delivery:
    """How the consumer handles each message it receives from `queue_url`."""

    handlers: Mapping[str, Handler]
    queue_url: str
    metrics: Metrics
    # Set when a handler raises DependencyUnavailable: the loop then probes before receiving again.
    dependency_down: threading.Event
    # Event type => the services that may produce it; None checks nothing.
    producers: Mapping[str, Collection[str]] | None = None

    def process(self, message: dict[str, Any]) -> Outcome:
        try:
            envelope = parse_envelope(message["Body"])
        except UnprocessableEvent as unprocessable:
            with bound_trace(None, None):
                log.error("message_dead_lettered", message_id=message["MessageId"], reason=unprocessable.reason)
            return DeadLetter(unprocessable.reason)
        # A replay is the same event again: its lines say so, so nobody mistakes it for a new one.
        replay = {"replayed": True} if attribute(message, REPLAYED_ATTRIBUTE) == "true" else {}
        # The event's trace goes on here: the handler's AWS calls and the events it emits are
        # children of this span.
        with (
            tracer.start_as_current_span(
                f"process {envelope.type}",
                context=context_of(envelope),
                kind=SpanKind.CONSUMER,
                attributes={**event_attributes(envelope), **span_attributes(message, self.queue_url)},
            ) as span,
            bound_trace(envelope.id, envelope.correlation_id, **replay),
        ):
            handler = self.handlers.get(envelope.type)
            try:
                self.refuse_unexpected_source(envelope)
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
                self.dependency_down.set()
                return WAIT_FOR_DEPENDENCY
            except Exception as error:
                log.exception("handler_failed", event_type=envelope.type, receive_count=receive_count(message))
                span.record_exception(error)
                mark_failed(span, f"handler failed: {error}")
                return RETRY_LATER
            log.info(
                "event_handled",
                event_type=envelope.type,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            return HANDLED

    def refuse_unexpected_source(self, envelope: Envelope) -> None:
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

    def measure(self, message: dict[str, Any], outcome: Outcome, seconds: float) -> None:
        """Count the message by its outcome and record how long it took."""
        kind = event_type(message)
        if outcome is HANDLED:
            self.count(message, "handled", kind)
        elif isinstance(outcome, DeadLetter):
            self.count(message, "dead_lettered", kind)
        else:
            self.count(message, "failed", kind)
        self.metrics.observe("event_handling_duration", seconds, event_type=kind)

    def count(self, message: dict[str, Any], outcome: str, kind: str | None = None) -> None:
        self.metrics.count("events_consumed", event_type=kind or event_type(message), outcome=outcome)
