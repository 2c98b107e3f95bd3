"""The metrics custom_metrics.json declares: each one's name, kind, unit and dimensions, and how
its dimensions' values are bounded."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Any, Literal

OTHER = "other"
PROMETHEUS_PREFIX = "taskoverflow_"
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
