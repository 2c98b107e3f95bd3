"""Self and total time per function from a sampled profile in speedscope's JSON format (py-spy's
`--format speedscope`), as Markdown tables.

A function's self share is the part of all samples in which it was the running (leaf) frame; its
total share the part in which it was anywhere on the stack, counted once per sample however deep
it recurses. Every profile in the file (py-spy writes one per thread, of every process it
followed) adds to the same totals, so the shares are of the whole process group's samples.
py-spy's `--subprocesses` roots each stack in a frame naming the process (`process 812:"gunicorn
…"`), which is no function and is left out: it would be on every stack.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.comparison_table import markdown_table

# Paths are long and mostly prefix: what follows the last of these is what a reader recognises
# (`botocore/endpoint.py`, `todo_api/handlers.py`, `json/decoder.py`).
_PATH_PREFIX = re.compile(r"^.*(?:/site-packages/|/src/|/lib/python3\.\d+/)")
_PROCESS_FRAME = re.compile(r"^process \d+:")


@dataclass(frozen=True)
class Function:
    """A function as the profiler names it: frames differing only by the line they ran are one."""

    name: str
    file: str

    @property
    def label(self) -> str:
        return f"{self.name} ({short_path(self.file)})" if self.file else self.name


@dataclass(frozen=True)
class FunctionTimes:
    """Sampled weight per function: where the time was spent (self) and under what (total). A
    sample weighs what the file says: py-spy's weigh 1/rate seconds, so `samples` is thread-seconds."""

    samples: float
    self_samples: Mapping[Function, float]
    total_samples: Mapping[Function, float]

    def top_by_self(self, count: int) -> list[tuple[Function, float, float]]:
        """(function, self share, total share), highest self share first."""
        return self._top(self.self_samples, count)

    def top_by_total(self, count: int) -> list[tuple[Function, float, float]]:
        """(function, self share, total share), highest total share first."""
        return self._top(self.total_samples, count)

    def _top(self, by: Mapping[Function, float], count: int) -> list[tuple[Function, float, float]]:
        if not self.samples:
            return []
        ranked = sorted(by.items(), key=lambda item: (-item[1], item[0].label))[:count]
        return [
            (function, self.self_samples.get(function, 0.0) / self.samples, self.total_samples[function] / self.samples)
            for function, _ in ranked
        ]


def short_path(path: str) -> str:
    return _PATH_PREFIX.sub("", path)


def function_times(speedscope: Mapping[str, Any]) -> FunctionTimes:
    """Totals over every sampled profile of a speedscope document (stacks listed root first)."""
    functions = [
        None if _is_process_frame(frame) else Function(frame["name"], frame.get("file") or "")
        for frame in speedscope["shared"]["frames"]
    ]
    samples = 0.0
    self_samples: Counter[Function] = Counter()
    total_samples: Counter[Function] = Counter()
    for profile in speedscope["profiles"]:
        if profile.get("type") != "sampled":
            continue
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            on_stack = [function for index in stack if (function := functions[index]) is not None]
            if not on_stack:
                continue
            samples += weight
            self_samples[on_stack[-1]] += weight
            for function in set(on_stack):
                total_samples[function] += weight
    return FunctionTimes(samples, dict(self_samples), dict(total_samples))


def _is_process_frame(frame: Mapping[str, Any]) -> bool:
    return not frame.get("file") and bool(_PROCESS_FRAME.match(frame["name"]))


def functions_table(rows: list[tuple[Function, float, float]]) -> str:
    """A Markdown table of (function, self share, total share) rows, shares as percentages."""
    if not rows:
        return "(no samples: the process ran no Python code while it was recorded)"
    return markdown_table(
        ["function", "self", "total"],
        [[function.label.replace("|", "\\|"), f"{own:.1%}", f"{total:.1%}"] for function, own, total in rows],
    )
