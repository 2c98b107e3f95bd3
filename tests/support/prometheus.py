"""Prometheus text as tests read it: every sample by its name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples_of(text: str, *, without: tuple[str, ...] = ()) -> Samples:
    """(sample name, labels) -> value; the labels named in `without` left out (e.g. the service)."""
    return {
        (sample.name, frozenset((k, v) for k, v in sample.labels.items() if k not in without)): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
