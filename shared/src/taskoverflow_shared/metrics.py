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

import json
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any, ClassVar, Literal, Protocol

import structlog
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import Field

from taskoverflow_shared.settings import ServiceSettings

log = structlog.get_logger("taskoverflow.metrics")

# No `_created` series beside every counter and distribution: a scrape shows what was counted.
disable_created_metrics()  # type: ignore[no-untyped-call]

OTHER = "other"
PROMETHEUS_PREFIX = "taskoverflow_"
# EMF: a metric may carry at most this many values in one line.
EMF_MAX_VALUES = 100
_UNIT_SUFFIXES = {"Seconds": "_seconds", "Bytes": "_bytes"}

Kind = Literal["counter", "histogram", "gauge"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric as custom_metrics.json declares it."""

    key: str
    name: str
    kind: Kind
    unit: str
    statistic: str
    dimensions: Mapping[str, tuple[str, ...]]
    dimension_sets: tuple[tuple[str, ...], ...]
    meaning: str
    buckets: tuple[float, ...] | None = None

    @property
    def prometheus_name(self) -> str:
        """taskoverflow_<key> with its unit; prometheus_client adds `_total` to a counter's samples."""
        return PROMETHEUS_PREFIX + self.key + _UNIT_SUFFIXES.get(self.unit, "")

    @cached_property
    def label_names(self) -> tuple[str, ...]:
        return tuple(snake_case(dimension) for dimension in self.dimensions)

    @cached_property
    def _dimension_of_label(self) -> dict[str, str]:
        return dict(zip(self.label_names, self.dimensions, strict=True))

    def dimension_values(self, given: Mapping[str, str]) -> dict[str, str]:
        """The metric's dimensions (by CloudWatch name) from snake_case `given`; bounded values checked.

        Raises ValueError for a missing or unknown dimension: a programming error, found by the tests.
        """
        names = self._dimension_of_label
        if given.keys() != names.keys():
            raise ValueError(f"{self.key} takes dimensions {sorted(names)}, not {sorted(given)}")
        values = {}
        for label, value in given.items():
            dimension = names[label]
            allowed = self.dimensions[dimension]
            values[dimension] = value if not allowed or value in allowed else OTHER
        return values


@dataclass(frozen=True)
class MetricCatalog:
    namespace: str
    specs: Mapping[str, MetricSpec]

    def __getitem__(self, key: str) -> MetricSpec:
        return self.specs[key]


@cache
def load_catalog() -> MetricCatalog:
    """custom_metrics.json, as packaged with shared/."""
    raw = json.loads(resources.files("taskoverflow_shared").joinpath("custom_metrics.json").read_text())
    return catalog_from(raw)


def catalog_from(raw: Mapping[str, Any]) -> MetricCatalog:
    specs = {}
    for key, metric in raw["metrics"].items():
        dimensions = {name: tuple(values) for name, values in metric["dimensions"].items()}
        sets = metric.get("dimension_sets", [list(dimensions)])
        unknown = {name for dimension_set in sets for name in dimension_set} - set(dimensions)
        if unknown or metric["kind"] not in ("counter", "histogram", "gauge"):
            raise ValueError(f"custom_metrics.json: {key} has an unknown kind or dimension {sorted(unknown)}")
        specs[key] = MetricSpec(
            key=key,
            name=metric["name"],
            kind=metric["kind"],
            unit=metric["unit"],
            statistic=metric["statistic"],
            dimensions=dimensions,
            dimension_sets=tuple(tuple(dimension_set) for dimension_set in sets),
            meaning=metric["meaning"],
            buckets=tuple(metric["buckets"]) if "buckets" in metric else None,
        )
    return MetricCatalog(raw["namespace"], specs)


def snake_case(name: str) -> str:
    """EventType -> event_type: a CloudWatch dimension's name as a Prometheus label."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


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


class PrometheusSink:
    """prometheus_client metrics in a registry of their own, made on first use (a process shows
    only what it records)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._metrics: dict[str, Counter | Histogram] = {}
        self._lock = threading.Lock()

    def record(self, spec: MetricSpec, dimensions: Mapping[str, str], value: float) -> None:
        metric = self._metric(spec)
        labelled = metric.labels(*dimensions.values()) if dimensions else metric
        if isinstance(labelled, Counter):
            labelled.inc(value)
        else:
            labelled.observe(value)

    def track(self, spec: MetricSpec, read: Callable[[], float]) -> None:
        self.registry.register(_TrackedGauge(spec, read))

    def value(self, spec: MetricSpec, dimensions: Mapping[str, str]) -> float:
        labels = {snake_case(name): value for name, value in dimensions.items()}
        suffix = {"counter": "_total", "histogram": "_count", "gauge": ""}[spec.kind]
        return self.registry.get_sample_value(spec.prometheus_name + suffix, labels) or 0.0

    def text(self) -> bytes:
        return generate_latest(self.registry)

    def _metric(self, spec: MetricSpec) -> Counter | Histogram:
        with self._lock:
            metric = self._metrics.get(spec.key)
            if metric is None:
                options: dict[str, Any] = {"labelnames": spec.label_names, "registry": self.registry}
                if spec.kind == "counter":
                    metric = Counter(spec.prometheus_name, spec.meaning, **options)
                else:
                    if spec.buckets is not None:
                        options["buckets"] = spec.buckets
                    metric = Histogram(spec.prometheus_name, spec.meaning, **options)
                self._metrics[spec.key] = metric
            return metric


class _TrackedGauge(Collector):
    def __init__(self, spec: MetricSpec, read: Callable[[], float]) -> None:
        self.spec, self.read = spec, read

    def collect(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.spec.prometheus_name, self.spec.meaning)
        try:
            family.add_metric([], self.read())
        except Exception as unreadable:
            log.warning("metric_unreadable", metric=self.spec.key, error=str(unreadable)[:300])
        return [family]


@dataclass
class EmfWriter:
    """Aggregates what is recorded and writes it as CloudWatch EMF lines at each `flush`.

    Per metric and dimension values: a counter's sum, a gauge's reading at the flush, a
    distribution's samples (up to 100 a line, so CloudWatch keeps its percentiles).
    """

    namespace: str
    write: Callable[[str], None] = field(default_factory=lambda: _write_line)
    clock: Callable[[], float] = time.time
    _sums: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict, init=False)
    _samples: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = field(default_factory=dict, init=False)
    _tracked: list[tuple[MetricSpec, Callable[[], float]]] = field(default_factory=list, init=False)
    _specs: dict[str, MetricSpec] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def record(self, spec: MetricSpec, dimensions: Mapping[str, str], value: float) -> None:
        series = (spec.key, tuple(dimensions.items()))
        with self._lock:
            self._specs[spec.key] = spec
            if spec.kind == "counter":
                self._sums[series] = self._sums.get(series, 0.0) + value
            else:
                self._samples.setdefault(series, []).append(value)

    def track(self, spec: MetricSpec, read: Callable[[], float]) -> None:
        with self._lock:
            self._tracked.append((spec, read))

    def flush(self) -> int:
        """Write what was recorded since the last flush; return the number of lines written."""
        with self._lock:
            sums, self._sums = self._sums, {}
            samples, self._samples = self._samples, {}
            tracked = list(self._tracked)
            specs = dict(self._specs)
        timestamp = int(self.clock() * 1000)
        lines = [self._line(specs[key], dict(dims), total, timestamp) for (key, dims), total in sums.items()]
        for (key, dims), values in samples.items():
            for start in range(0, len(values), EMF_MAX_VALUES):
                lines.append(self._line(specs[key], dict(dims), values[start : start + EMF_MAX_VALUES], timestamp))
        for spec, read in tracked:
            try:
                reading = read()
            except Exception as unreadable:
                log.warning("metric_unreadable", metric=spec.key, error=str(unreadable)[:300])
                continue
            lines.append(self._line(spec, {}, reading, timestamp))
        for line in lines:
            self.write(line)
        return len(lines)

    def _line(self, spec: MetricSpec, dimensions: dict[str, str], value: float | list[float], timestamp: int) -> str:
        directive = {
            "Namespace": self.namespace,
            "Dimensions": [list(dimension_set) for dimension_set in spec.dimension_sets],
            "Metrics": [{"Name": spec.name, "Unit": spec.unit}],
        }
        return json.dumps(
            {"_aws": {"Timestamp": timestamp, "CloudWatchMetrics": [directive]}, **dimensions, spec.name: value},
            separators=(",", ":"),
        )


def _write_line(line: str) -> None:
    # One write per line: lines from the log and from here never interleave within a line.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


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
