"""Each process's own metrics, declared once in custom_metrics.json, recorded here, exported two ways.

Code records by the metric's key and its dimensions in snake_case, never by a name of its own:

    metrics.count("events_consumed", event_type="TodoChanged", outcome="handled")
    metrics.observe("http_request_duration", 0.012, route="/api/v1/todos", method="GET")

`service` is filled in for every metric that has a Service dimension. A dimension whose values
custom_metrics.json lists takes only those (anything else is recorded as "other"), so a stray
value can never create thousands of CloudWatch metrics.

`METRICS_EXPORTER` picks where they go (`start_metrics` reads it once, at a process's start):
- `prometheus` (the default, `make run`): prometheus_client metrics, served as Prometheus text at
  `http://METRICS_HOST:METRICS_PORT/metrics` (every process, the API's included; 0 serves
  nothing; the host defaults to 127.0.0.1, so only this machine reads them).
- `emf` (AWS, set by Terraform): an `EmfWriter` aggregates what is recorded and, every
  `METRICS_FLUSH_SECONDS`, writes CloudWatch Embedded Metric Format lines on stdout, which the
  awslogs driver sends to CloudWatch Logs and CloudWatch turns into metrics: one line per metric
  and dimension values per period, not one per event (a distribution carries up to 100 samples a
  line, EMF's limit).

The process has one `Metrics` (`process_metrics()`), as prometheus_client has one default
registry; tests make their own and pass it where the code takes one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

import structlog
from prometheus_client import start_http_server
from pydantic import Field

from taskoverflow_shared.metric_catalog import (
    OTHER,
    PROMETHEUS_PREFIX,
    Kind,
    MetricCatalog,
    MetricSpec,
    catalog_from,
    load_catalog,
    snake_case,
)
from taskoverflow_shared.metric_sinks import (
    EMF_MAX_VALUES,
    EmfWriter,
    PrometheusSink,
)
from taskoverflow_shared.settings import ServiceSettings

__all__ = [
    "EMF_MAX_VALUES",
    "OTHER",
    "PROMETHEUS_PREFIX",
    "EmfWriter",
    "Kind",
    "MetricCatalog",
    "MetricSpec",
    "Metrics",
    "MetricsExport",
    "MetricsSettings",
    "PrometheusSink",
    "Sink",
    "catalog_from",
    "load_catalog",
    "process_metrics",
    "snake_case",
    "start_metrics",
]

log = structlog.get_logger("taskoverflow.metrics")


class Sink(Protocol):
    """Where recorded values go: prometheus_client's metrics, or the EMF writer."""

    def record(self, spec: MetricSpec, dimensions: Mapping[str, str], value: float) -> None: ...

    def track(self, spec: MetricSpec, read: Callable[[], float]) -> None: ...


class Metrics:
    """What the code records its metrics with; thread-safe."""

    def __init__(
        self, service: str = "unknown", sink: Sink | None = None, catalog: MetricCatalog | None = None
    ) -> None:
        self.catalog = catalog or load_catalog()
        self.service = service
        self.sink: Sink = sink or PrometheusSink()

    def count(self, key: str, amount: float = 1.0, **dimensions: str) -> None:
        """Add `amount` to a counter."""
        self._record(key, "counter", amount, dimensions)

    def observe(self, key: str, value: float, **dimensions: str) -> None:
        """One sample of a distribution (a duration, a size)."""
        self._record(key, "histogram", value, dimensions)

    def track(self, key: str, read: Callable[[], float]) -> None:
        """A gauge without dimensions (besides Service), read when scraped or flushed: nothing is
        sampled while nobody looks. A `read` that raises leaves that reading out."""
        spec = self._spec(key, "gauge")
        if spec.dimensions:
            raise ValueError(f"{key} has dimensions: only a gauge without them can be tracked")
        self.sink.track(spec, read)

    def value(self, key: str, **dimensions: str) -> float:
        """What a counter or gauge holds now, or a distribution's sample count (tests, Prometheus sink only)."""
        spec = self.catalog[key]
        if not isinstance(self.sink, PrometheusSink):
            raise TypeError("values are kept by the Prometheus sink only")
        return self.sink.value(spec, self._dimensions(spec, dimensions))

    def prometheus_text(self) -> bytes:
        if not isinstance(self.sink, PrometheusSink):
            raise TypeError(f"metrics are exported by {type(self.sink).__name__}, not as Prometheus text")
        return self.sink.text()

    def _record(self, key: str, kind: Kind, value: float, dimensions: Mapping[str, str]) -> None:
        spec = self._spec(key, kind)
        self.sink.record(spec, self._dimensions(spec, dimensions), value)

    def _spec(self, key: str, kind: Kind) -> MetricSpec:
        spec = self.catalog[key]
        if spec.kind != kind:
            raise ValueError(f"{key} is a {spec.kind}, not a {kind}")
        return spec

    def _dimensions(self, spec: MetricSpec, given: Mapping[str, str]) -> dict[str, str]:
        if "Service" in spec.dimensions:
            given = {"service": self.service, **given}
        return spec.dimension_values(given)


class MetricsSettings(ServiceSettings):
    """How a process exports its metrics (every process reads the same variables)."""

    service: ClassVar[str] = "metrics"

    exporter: Literal["prometheus", "emf"] = Field(
        "prometheus",
        validation_alias="METRICS_EXPORTER",
        description="`prometheus`: Prometheus text at /metrics; `emf`: CloudWatch Embedded Metric Format "
        "lines on stdout (AWS; Terraform sets it)",
    )
    port: int = Field(
        0,
        ge=0,
        le=65535,
        validation_alias="METRICS_PORT",
        description="the process's Prometheus endpoint, `http://METRICS_HOST:METRICS_PORT/metrics`; 0 "
        "serves none (the API serves none on its public port)",
    )
    host: str = Field(
        "127.0.0.1",
        min_length=1,
        validation_alias="METRICS_HOST",
        description="address the endpoint listens on (`0.0.0.0` in a container scraped from outside)",
    )
    flush_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        validation_alias="METRICS_FLUSH_SECONDS",
        description="with `emf`, how often the aggregated lines are written",
    )


@dataclass
class MetricsExport:
    """A started export: `stop` ends the endpoint or writes the last EMF lines."""

    metrics: Metrics
    address: tuple[str, int] | None = None
    _stop: Callable[[], None] = lambda: None
    _stopped: bool = False

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._stop()


_process_metrics = Metrics()


def process_metrics() -> Metrics:
    """This process's metrics: what `start_metrics` configured (until then, Prometheus in memory)."""
    return _process_metrics


def start_metrics(service: str, settings: MetricsSettings | None = None) -> MetricsExport:
    """Configure this process's metrics for `service` and start their export.

    With Prometheus, the endpoint is served at METRICS_PORT, if any. Raises SettingsError for
    invalid variables.
    """
    settings = settings or MetricsSettings.from_environment()
    metrics = _process_metrics
    metrics.service = service
    if settings.exporter == "emf":
        writer = EmfWriter(metrics.catalog.namespace)
        metrics.sink = writer
        return _flushing_every(metrics, writer, settings.flush_seconds)
    metrics.sink = PrometheusSink()
    if not settings.port:
        return MetricsExport(metrics)
    assert isinstance(metrics.sink, PrometheusSink)
    server, thread = start_http_server(settings.port, settings.host, registry=metrics.sink.registry)
    log.info("metrics_endpoint_started", address=f"http://{settings.host}:{server.server_port}/metrics")

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return MetricsExport(metrics, (settings.host, server.server_port), stop)


def _flushing_every(metrics: Metrics, writer: EmfWriter, seconds: float) -> MetricsExport:
    stopped = threading.Event()

    def flush_until_stopped() -> None:
        while not stopped.wait(seconds):
            _flush(writer)

    thread = threading.Thread(target=flush_until_stopped, name="metrics-flush", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join()
        _flush(writer)  # what the last period recorded

    return MetricsExport(metrics, None, stop)


def _flush(writer: EmfWriter) -> None:
    try:
        writer.flush()
    except Exception:
        # A metric lost is not worth a worker: the next period writes again.
        log.exception("metrics_flush_failed")
