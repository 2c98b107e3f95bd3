"""A trace follows an event through a real publish and consume: the request that records it, the
relay's publish (SnsPublisher → moto's SNS → SQS), the shared consumer loop's span around the
handler, and the event the handler emits in turn."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarReady, CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.sqs_consumer import SqsConsumer
from taskoverflow_shared.tracing import (
    CORRELATION_ID,
    EVENT_ID,
    EVENT_TYPE,
    PublishSpans,
    context_of,
    producing,
    stamped,
    start_tracing,
    tracer,
)
from tests.support.moto import wait_until

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}
SHA = "0" * 64


@pytest.fixture(scope="module")
def exported() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):  # another module of the session installed one
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        start_tracing("tests", exporter, batch=False)
    return exporter


@pytest.fixture
def spans(exported):
    exported.clear()
    yield exported
    exported.clear()


def _consumer(addresses, queue: str, handlers) -> SqsConsumer:
    urls = addresses.queues[queue]
    sqs = make_client("sqs")
    return SqsConsumer(sqs, urls.url, urls.dlq_url, handlers, visibility_timeout_seconds=30, wait_time_seconds=0)


def test_the_consumer_continues_the_trace_the_event_was_recorded_in(topology_addresses, spans):
    publisher = SnsPublisher(make_client("sns"), topology_addresses.topic_arn)
    with tracer.start_as_current_span("POST /api/v1/todos/ical", kind=SpanKind.SERVER) as request:
        recorded = stamped(
            new_envelope(
                CalendarRequested(job_id="job-1", todo_count=0, todos=[]),
                source="todo-api",
                correlation_id="corr-1",
                subject="calendars/job-1",
            )
        )
    # The relay, later and outside the request: its publish span joins the recorded trace.
    with PublishSpans([recorded]) as publishing:
        publishing.settle(publisher.publish([recorded]))
    seen = []

    def handle(envelope, data):
        seen.append((envelope, trace.get_current_span().get_span_context()))
        with producing(
            new_envelope(
                CalendarReady(job_id="job-1", bucket="b", key="k", size_bytes=0, event_count=0, sha256=SHA),
                source="ical-worker",
                correlation_id=envelope.correlation_id,
                caused_by=envelope.id,
            )
        ) as outcome:
            seen.append((outcome, None))

    consumer = _consumer(topology_addresses, "ical-worker", {"CalendarRequested": handle})
    wait_until(lambda: consumer.poll_once().handled, timeout=10, message="the CalendarRequested")

    trace_id = request.get_span_context().trace_id
    (received, handler_context), (outcome, _) = seen
    assert received.traceparent == recorded.traceparent
    assert handler_context.trace_id == trace_id
    by_name = {span.name: span for span in spans.get_finished_spans()}
    process = by_name["process CalendarRequested"]
    assert process.kind is SpanKind.CONSUMER
    assert process.context.span_id == handler_context.span_id
    assert process.parent.span_id == request.get_span_context().span_id
    assert process.attributes[EVENT_ID] == recorded.id
    assert process.attributes[EVENT_TYPE] == "CalendarRequested"
    assert process.attributes[CORRELATION_ID] == "corr-1"
    assert process.attributes["messaging.destination.name"] == "taskoverflow-ical-worker"
    relay = by_name["publish CalendarRequested"]
    assert (relay.context.trace_id, relay.parent.span_id) == (trace_id, request.get_span_context().span_id)
    # The emitted outcome carries the trace on, from the worker's publish span under the handler's.
    emitted = by_name["publish CalendarReady"]
    assert emitted.parent.span_id == process.context.span_id
    carried = trace.get_current_span(context_of(outcome)).get_span_context()
    assert (carried.trace_id, carried.span_id) == (trace_id, emitted.context.span_id)


def test_an_event_recorded_outside_a_trace_starts_one_where_it_is_handled(topology_addresses, spans):
    envelope = stamped(
        new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="t", correlation_id="c")
    )
    assert envelope.traceparent is None
    SnsPublisher(make_client("sns"), topology_addresses.topic_arn).publish([envelope])
    handled = []
    consumer = _consumer(
        topology_addresses,
        "notifier",
        {"TodoChanged": lambda envelope, data: handled.append(trace.get_current_span().get_span_context())},
    )

    wait_until(lambda: consumer.poll_once().handled, timeout=10, message="the TodoChanged")

    (process,) = [span for span in spans.get_finished_spans() if span.name == "process TodoChanged"]
    assert process.parent is None
    assert handled == [process.context]


def test_a_handler_failure_marks_the_event_span_as_an_error(topology_addresses, spans):
    envelope = new_envelope(TodoChanged(action="created", todo=TODO, version=1), source="t", correlation_id="c")
    SnsPublisher(make_client("sns"), topology_addresses.topic_arn).publish([envelope])

    def fails(envelope, data):
        raise RuntimeError("webhook receiver down")

    consumer = _consumer(topology_addresses, "notifier", {"TodoChanged": fails})
    wait_until(lambda: consumer.poll_once().failed, timeout=10, message="the failing TodoChanged")

    (process,) = [span for span in spans.get_finished_spans() if span.name == "process TodoChanged"]
    assert not process.status.is_ok
    assert "webhook receiver down" in process.status.description
