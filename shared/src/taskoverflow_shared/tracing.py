"""OpenTelemetry traces across events: set up once per process, carried from hop to hop in the envelope.

Every process calls `configure_tracing(service)` at start (the worker runtime for every worker,
the todo-api's app factory for the API). Its settings are a `TracingSettings` model, read and
checked like every other, under OpenTelemetry's own variable names where it has one.
`OTEL_TRACES_EXPORTER` picks where spans go:

- `none` (the default): no provider is installed; every span below is the API's no-op, so the
  services pay nothing and send nothing;
- `file` (ours; the standard values are the other three): each process appends its spans as
  JSON lines to `TRACES_DIRECTORY/<service>.jsonl` (default `data/traces`), which
  `taskoverflow trace` reads: no collector needed (`make run`);
- `otlp`: OTLP over HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT` (on ECS, the ADOT collector sidecar on
  localhost, which sends to X-Ray); the SDK reads the other `OTEL_EXPORTER_OTLP_*` variables;
- `console`: JSON on stdout, for a quick look.

The SDK's own variables still apply (`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_BSP_*`,
`OTEL_TRACES_SAMPLER`). Without `OTEL_TRACES_SAMPLER`, a trace starts only where we start one
(a request, an event handled): an AWS call outside any trace (a long poll, a delete) records
nothing, so idle workers do not fill the exporter with empty receives. `OTEL_TRACES_SAMPLER_ARG`
(0 to 1, default 1; the ratio, as for the SDK's ratio samplers) keeps that share of the traces
started, chosen by trace id; every later hop
follows the first one's choice (the sampled flag travels in `traceparent`), so a trace is kept
whole or not at all. A trace someone asked for is kept whatever the ratio: a request whose
client named its `X-Correlation-ID` (its server span carries `TRACE_REQUESTED`), or one whose
`traceparent` says sampled.

The trace context travels in the CloudEvents envelope (`traceparent` / `tracestate`), stamped
when the event is created (`stamped`), so it survives the outbox, SNS, SQS, a DLQ redrive and a
replay; the consumer continues it (`context_of`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes
from pydantic import Field

from taskoverflow_shared.events import Envelope
from taskoverflow_shared.settings import ServiceSettings

DEFAULT_DIRECTORY: Final = Path("data/traces")
# Span attributes every event span carries (OpenTelemetry's CloudEvents conventions, and ours).
EVENT_ID: Final = "cloudevents.event_id"
EVENT_TYPE: Final = "cloudevents.event_type"
EVENT_SUBJECT: Final = "cloudevents.event_subject"
CORRELATION_ID: Final = "taskoverflow.correlation_id"
# On a request's span when its client named the correlation id: the trace is kept at any ratio,
# so `make trace ID=<that id>` finds it.
TRACE_REQUESTED: Final = "taskoverflow.trace_requested"

# W3C trace context only: what the envelope and webhooks carry.
_PROPAGATOR: Final = TraceContextTextMapPropagator()
tracer = trace.get_tracer("taskoverflow")


class TracingSettings(ServiceSettings):
    """Where a process's spans go (every process reads the same variables). All are checked with
    traces off too: a mistyped setting should not wait until someone turns them on."""

    service: ClassVar[str] = "tracing"

    exporter: Literal["none", "file", "otlp", "console"] = Field(
        "none",
        validation_alias="OTEL_TRACES_EXPORTER",
        description="`none`, `file` (ours: JSON lines in `TRACES_DIRECTORY/<service>.jsonl`, which "
        "`taskoverflow trace` reads), `otlp` (to `OTEL_EXPORTER_OTLP_ENDPOINT`; on ECS the ADOT sidecar), "
        "`console`; the SDK's other `OTEL_*` variables apply too",
    )
    directory: Path = Field(
        DEFAULT_DIRECTORY,
        validation_alias="TRACES_DIRECTORY",
        description="where the `file` exporter writes and `taskoverflow trace` reads",
    )
    sample_ratio: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        validation_alias="OTEL_TRACES_SAMPLER_ARG",
        description="the share of the traces a request or an event starts that are kept, by trace id; later "
        "hops follow the first one's choice, so a trace is kept whole or not at all; a request naming its "
        "`X-Correlation-ID` is always kept (0.1 on ECS: Terraform's `trace_sample_ratio`; 0.1 in `make run`)",
    )
    sdk_sampler: str | None = Field(
        None,
        validation_alias="OTEL_TRACES_SAMPLER",
        description="set, the SDK's own sampler of that name replaces ours (which starts traces only where a "
        "request or an event does)",
    )


def configure_tracing(service: str, settings: TracingSettings | None = None) -> TracerProvider | None:
    """Install the process's tracer provider as `settings` (the environment's when None) say;
    None when traces are off. Raises SettingsError for invalid variables.

    Call once per process, at start (the API: in its app factory).
    """
    settings = settings or TracingSettings.from_environment()
    if settings.exporter == "none":
        return None
    exporter: SpanExporter
    if settings.exporter == "file":
        exporter = JsonLinesSpanExporter(settings.directory / f"{service}.jsonl")
    elif settings.exporter == "otlp":
        # Imported only when asked for: protobuf and an HTTP client are no cost to the others.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + os.linesep)
    sampler = None if settings.sdk_sampler else ParentBased(root=OnlyTracesWeStart(settings.sample_ratio))
    return start_tracing(service, exporter, sampler=sampler)


def start_tracing(
    service: str, exporter: SpanExporter, *, sampler: Sampler | None = None, batch: bool = True
) -> TracerProvider:
    """Make `exporter` the destination of this process's spans, and trace AWS calls inside them."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    propagate.set_global_textmap(_PROPAGATOR)
    _instrument_aws_calls(provider)
    return provider


def _instrument_aws_calls(provider: TracerProvider) -> None:
    """A child span per AWS call made inside a trace (S3 put, SNS publish, SQS delete)."""
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    instrumentor = BotocoreInstrumentor()  # type: ignore[no-untyped-call]
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(tracer_provider=provider)


class OnlyTracesWeStart(Sampler):
    """Record a span without a parent only if it is not a client call: a trace begins at a
    request or an event, never at a library's call made outside one (an SQS long poll). Of the
    traces that may begin, `ratio` of them do, chosen by trace id, and every one asked for
    (`TRACE_REQUESTED`)."""

    def __init__(self, ratio: float = 1.0) -> None:
        self._by_trace_id = TraceIdRatioBased(ratio)

    def should_sample(
        self,
        parent_context: otel_context.Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        if attributes and attributes.get(TRACE_REQUESTED):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return self._by_trace_id.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"OnlyTracesWeStart{{{self._by_trace_id.get_description()}}}"


class JsonLinesSpanExporter(SpanExporter):
    """Appends each span as one JSON line (the SDK's own `to_json`) to a file.

    Each export is one `write` on a file opened for appending, so the processes of one service
    (several API tasks on one host, a restarted worker) can share the file without interleaving their lines.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans).encode()
        with self._lock:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(descriptor, lines)
            finally:
                os.close(descriptor)
        return SpanExportResult.SUCCESS


def tracing_on() -> bool:
    """Whether this process records spans (a provider is installed), for work only spans need."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def stamped(envelope: Envelope) -> Envelope:
    """The envelope carrying the current trace context; as it was outside a trace (or traces off)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    if "traceparent" not in carrier:
        return envelope
    return envelope.model_copy(
        update={"traceparent": carrier["traceparent"], "tracestate": carrier.get("tracestate") or None}
    )


def context_of(carrier: Envelope | Mapping[str, Any]) -> otel_context.Context:
    """The trace context an envelope (or its JSON attributes) carries; an empty one without."""
    if isinstance(carrier, Envelope):
        fields = {"traceparent": carrier.traceparent, "tracestate": carrier.tracestate}
    else:
        fields = {name: carrier.get(name) for name in ("traceparent", "tracestate")}
    return _PROPAGATOR.extract({name: value for name, value in fields.items() if isinstance(value, str) and value})


def trace_headers() -> dict[str, str]:
    """`traceparent` (and `tracestate`) headers for an outgoing request made in the current span."""
    headers: dict[str, str] = {}
    _PROPAGATOR.inject(headers)
    return headers


def event_attributes(envelope: Envelope | Mapping[str, Any]) -> dict[str, str]:
    """What an event's spans say about it: its id, type, subject and correlation id."""
    values: tuple[object, ...]
    if isinstance(envelope, Envelope):
        values = (envelope.id, envelope.type, envelope.subject, envelope.correlation_id)
    else:
        correlation = envelope.get("correlationid", envelope.get("correlation_id"))
        values = (envelope.get("id"), envelope.get("type"), envelope.get("subject"), correlation)
    names = (EVENT_ID, EVENT_TYPE, EVENT_SUBJECT, CORRELATION_ID)
    return {name: value for name, value in zip(names, values, strict=True) if isinstance(value, str)}


@contextmanager
def producing(envelope: Envelope, **attributes: str) -> Iterator[Envelope]:
    """A producer span for publishing `envelope` now (in the current trace); yields the envelope
    stamped with that span's context, so its consumers continue from the publish."""
    with tracer.start_as_current_span(
        f"publish {envelope.type}",
        kind=SpanKind.PRODUCER,
        attributes={**event_attributes(envelope), **attributes},
    ):
        yield stamped(envelope)


def mark_failed(span: trace.Span, description: str) -> None:
    span.set_status(Status(StatusCode.ERROR, description[:300]))


def envelope_attributes_of(body: str) -> dict[str, Any]:
    """The attributes of an envelope given as JSON text ({} if it is none): enough to trace a
    message a batch handler decodes in its own way."""
    try:
        attributes = json.loads(body)
    except ValueError:
        return {}
    return attributes if isinstance(attributes, dict) else {}


@contextmanager
def working_on(envelope: Envelope, what: str) -> Iterator[Span]:
    """A span for work done on one stored envelope before it is published (a relay completing a
    calendar request: its snapshot put to S3), in the trace the envelope was recorded in."""
    with tracer.start_as_current_span(
        f"{what} {envelope.type}", context=context_of(envelope), attributes=event_attributes(envelope)
    ) as span:
        yield span


class PublishSpans:
    """A producer span per stored envelope a relay publishes, each in the trace the envelope was
    recorded in: from the claim until the topic accepted it (or did not). Use as a context
    manager; spans not settled by then end as failed."""

    def __init__(self, envelopes: Sequence[Envelope]) -> None:
        self._spans = {
            envelope.id: tracer.start_span(
                f"publish {envelope.type}",
                context=context_of(envelope),
                kind=SpanKind.PRODUCER,
                attributes={**event_attributes(envelope), "messaging.system": "aws_sns"},
            )
            for envelope in envelopes
        }

    def __enter__(self) -> PublishSpans:
        return self

    def __exit__(self, *exc_info: object) -> None:
        error = exc_info[1]
        for span in self._spans.values():
            mark_failed(span, f"not published: {error or 'the relay stopped'}")
            span.end()
        self._spans.clear()

    @contextmanager
    def during(self, envelope: Envelope) -> Iterator[None]:
        """Work for one envelope (completing it: an S3 snapshot) as a child of its span."""
        span = self._spans.get(envelope.id)
        if span is None:
            yield
            return
        with trace.use_span(span, end_on_exit=False):
            yield

    def settle(self, accepted: Collection[str], error: Exception | None = None) -> None:
        for event_id, span in self._spans.items():
            if event_id not in accepted:
                mark_failed(span, f"not accepted by the topic: {error}" if error else "not accepted by the topic")
            span.end()
        self._spans.clear()
