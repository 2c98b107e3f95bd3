"""`taskoverflow trace <correlation id | trace id>`: one request's spans across every service, as a tree.

Reads the spans the services exported with `OTEL_TRACES_EXPORTER=file` (one JSON line per span in
`TRACES_DIRECTORY/<service>.jsonl`, default `data/traces`, as `make run` writes them). A
correlation id (the `X-Correlation-ID` every API answer carries) finds every trace that names it;
a trace id (32 hex digits, from a log line's `trace_id`) finds that one trace. Each span shows its
service, its duration and when it started after the trace's first span; a failed span is red
with its reason. `--json` gives the same trees for scripts. Exit 1 when no span matches.

On AWS the services send their spans to X-Ray instead (OTLP to the ADOT collector sidecar): look
the trace up there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.tree import Tree

from taskoverflow_shared.tracing import CORRELATION_ID, DEFAULT_DIRECTORY, TracingSettings

DIRECTORY_VARIABLE = TracingSettings.variable("directory")

_TRACE_ID = re.compile(r"^(0x)?[0-9a-f]{32}$")


@dataclass
class Span:
    """One exported span, as `taskoverflow trace` needs it."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    service: str
    kind: str
    start: datetime
    end: datetime
    error: str | None
    attributes: dict[str, Any]
    children: list[Span] = field(default_factory=list)

    @property
    def duration_ms(self) -> float:
        return (self.end - self.start).total_seconds() * 1000

    @classmethod
    def from_json(cls, line: str) -> Span:
        """A span from the SDK's `ReadableSpan.to_json` (what the file exporter writes)."""
        raw = json.loads(line)
        status = raw.get("status") or {}
        return cls(
            trace_id=_hex(raw["context"]["trace_id"]),
            span_id=_hex(raw["context"]["span_id"]),
            parent_id=_hex(raw["parent_id"]) if raw.get("parent_id") else None,
            name=raw["name"],
            service=(raw.get("resource") or {}).get("attributes", {}).get("service.name", "?"),
            kind=str(raw.get("kind", "")).removeprefix("SpanKind."),
            start=datetime.fromisoformat(raw["start_time"]),
            end=datetime.fromisoformat(raw["end_time"]),
            error=(status.get("description") or "error") if status.get("status_code") == "ERROR" else None,
            attributes=raw.get("attributes") or {},
        )


def read_spans(directory: Path) -> Iterator[Span]:
    """Every span exported to `directory`; a line cut short (a process killed mid-write) is skipped."""
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    yield Span.from_json(line)
                except (ValueError, KeyError, TypeError):
                    continue


def select_traces(spans: Iterable[Span], wanted: str) -> dict[str, list[Span]]:
    """The spans of each trace `wanted` names (a trace id, or a correlation id on any of its spans)."""
    by_trace: dict[str, list[Span]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    if _TRACE_ID.match(wanted.lower()):
        trace_id = _hex(wanted.lower())
        return {trace_id: by_trace[trace_id]} if trace_id in by_trace else {}
    return {
        trace_id: members
        for trace_id, members in by_trace.items()
        if any(span.attributes.get(CORRELATION_ID) == wanted for span in members)
    }


def build_tree(spans: list[Span]) -> list[Span]:
    """The trace's root spans, each with its children in the order they started. A span whose
    parent was never exported (a process killed before its exporter flushed) counts as a root."""
    by_id = {span.span_id: span for span in spans}
    for span in spans:
        span.children = []
    roots: list[Span] = []
    for span in sorted(spans, key=lambda span: span.start):
        parent = by_id.get(span.parent_id) if span.parent_id else None
        (parent.children if parent is not None else roots).append(span)
    return roots


def render(trace_id: str, roots: list[Span]) -> Tree:
    """The span tree: name, service, duration, and start after the trace's first span."""
    spans = list(_walk(roots))
    first = min(span.start for span in spans)
    services = sorted({span.service for span in spans})
    total = (max(span.end for span in spans) - first).total_seconds() * 1000
    tree = Tree(
        f"[bold]trace {trace_id}[/]  {len(spans)} spans · {len(services)} services · {_ms(total)}",
        guide_style="dim",
    )

    def add(branch: Tree, span: Span) -> None:
        offset = (span.start - first).total_seconds() * 1000
        label = f"[bold]{span.name}[/]  [cyan]{span.service}[/]  {_ms(span.duration_ms)}  [dim]+{_ms(offset)}[/]"
        if span.error:
            label += f"  [red]✗ {span.error}[/]"
        child = branch.add(label)
        for grandchild in span.children:
            add(child, grandchild)

    for root in roots:
        add(tree, root)
    return tree


def as_json(trace_id: str, roots: list[Span]) -> dict[str, Any]:
    def node(span: Span) -> dict[str, Any]:
        return {
            "name": span.name,
            "service": span.service,
            "kind": span.kind,
            "span_id": span.span_id,
            "start": span.start.isoformat(),
            "duration_ms": round(span.duration_ms, 3),
            "error": span.error,
            "attributes": span.attributes,
            "children": [node(child) for child in span.children],
        }

    return {"trace_id": trace_id, "spans": [node(root) for root in roots]}


def run(args: argparse.Namespace) -> int:
    traces = select_traces(read_spans(args.directory), args.id)
    if not traces:
        print(
            f"no span in {args.directory} names {args.id!r} (are traces on? OTEL_TRACES_EXPORTER=file)", file=sys.stderr
        )
        return 1
    # The oldest trace first: a correlation id's request before what a replay of it caused.
    ordered = sorted(traces.items(), key=lambda item: min(span.start for span in item[1]))
    trees = [(trace_id, build_tree(spans)) for trace_id, spans in ordered]
    if args.json:
        print(json.dumps([as_json(trace_id, roots) for trace_id, roots in trees], indent=2))
        return 0
    console = Console()
    for trace_id, roots in trees:
        console.print(render(trace_id, roots))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "trace",
        help="one request's spans across every service, as a tree with durations",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("id", help="a correlation id (X-Correlation-ID) or a trace id (32 hex digits)")
    parser.add_argument("--json", action="store_true", help="print the span trees as JSON, for scripts")
    parser.add_argument(
        "--directory",
        type=Path,
        default=Path(os.environ.get(DIRECTORY_VARIABLE) or DEFAULT_DIRECTORY),
        help=f"where the services wrote their spans (default ${DIRECTORY_VARIABLE} or {DEFAULT_DIRECTORY})",
    )
    parser.set_defaults(run=run)


def _walk(spans: list[Span]) -> Iterator[Span]:
    for span in spans:
        yield span
        yield from _walk(span.children)


def _hex(value: str) -> str:
    return value.removeprefix("0x")


def _ms(milliseconds: float) -> str:
    return f"{milliseconds:.1f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.2f} s"
