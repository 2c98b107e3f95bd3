"""Where recorded metrics go: prometheus_client's metrics in a registry, or CloudWatch EMF lines."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from taskoverflow_shared.metric_catalog import MetricSpec, snake_case

log = structlog.get_logger("taskoverflow.metrics")

# No `_created` series beside every counter and distribution: a scrape shows what was counted.
disable_created_metrics()  # type: ignore[no-untyped-call]

# EMF: a metric may carry at most this many values in one line.
EMF_MAX_VALUES = 100


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
