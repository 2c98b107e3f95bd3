"""The one screen of `taskoverflow status`, drawn with rich."""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from taskoverflow_operations.status.readings import (
    CalendarJobsStatus,
    EventRates,
    OutboxStatus,
    QueueDepth,
    QueuesStatus,
    SystemStatus,
    Unavailable,
)

REASON_WIDTH = 90


def render(status: SystemStatus) -> RenderableType:
    title = Text.assemble(
        ("TaskOverflow status", "bold"),
        f"  {status.taken_at:%Y-%m-%d %H:%M:%S} UTC  ·  {status.delivery} delivery",
    )
    parts: list[RenderableType] = [title, _queues(status.queues)]
    parts += [_outbox(status.outbox), _calendar_jobs(status.calendar_jobs), _event_rates(status.event_rates)]
    if status.unavailable_parts:
        whole_parts = [part for part in status.unavailable_parts if not part.startswith("queue ")]
        queues = len(status.unavailable_parts) - len(whole_parts)
        named = whole_parts + ([f"{queues} queue{'s' * (queues > 1)}"] if queues else [])
        parts.append(Text(f"unavailable: {', '.join(named)}", style="bold red"))
    return Group(*parts)


def duration(seconds: float) -> str:
    """12s, 3m 05s, 2h 03m, 4d 07h: two units at most, enough to see what is stuck."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600:02d}h"


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)


def _unavailable(what: str, part: Unavailable) -> Text:
    return Text.assemble((f"{what}: ", "bold"), (f"unavailable — {part.reason}", "red"))


def _queues(queues: QueuesStatus | Unavailable) -> RenderableType:
    if isinstance(queues, Unavailable):
        return _unavailable("Queues", queues)
    table = _table("Queues and their dead-letter queues")
    table.add_column("queue", no_wrap=True)
    for heading in ("visible", "in flight", "delayed"):
        table.add_column(heading, justify="right")
    table.add_column("oldest message", justify="right")
    reasons: dict[str, list[str]] = {}
    for service in queues.services:
        for name, depth, shown in (
            (service.queue_name, service.queue, service.queue_name),
            (service.dlq_name, service.dlq, f"└ {service.dlq_name}"),
        ):
            table.add_row(shown, *_depth_cells(depth, dead_letters=depth is service.dlq))
            if isinstance(depth, Unavailable):
                reasons.setdefault(depth.reason, []).append(name)
    notes: list[RenderableType] = []
    for reason, names in reasons.items():
        which = "every queue" if len(names) == 2 * len(queues.services) else ", ".join(names)
        notes.append(Text(f"{which}: {reason}", style="red"))
    if queues.cloudwatch_unavailable is not None:
        notes.append(Text(f"no ages from CloudWatch ({queues.cloudwatch_unavailable})", style="dim"))
    return Group(table, *notes) if notes else table


def _depth_cells(depth: QueueDepth | Unavailable, *, dead_letters: bool) -> list[Text | str]:
    if isinstance(depth, Unavailable):
        return [Text("unavailable", style="red"), "", "", ""]
    # Anything in a DLQ is a failure someone must look at.
    visible_style = "bold red" if dead_letters and depth.visible else ""
    if depth.oldest_age_seconds is not None:
        age = Text.assemble(duration(depth.oldest_age_seconds), (f" ({depth.oldest_age_source})", "dim"))
    elif depth.oldest_age_source == "empty":
        age = Text("—", style="dim")
    else:
        age = Text("not measured", style="dim")
    return [Text(str(depth.visible), style=visible_style), str(depth.in_flight), str(depth.delayed), age]


def _outbox(outbox: OutboxStatus | Unavailable) -> RenderableType:
    if isinstance(outbox, Unavailable):
        return _unavailable("Outbox", outbox)
    table = _table("Outbox (todo-api)")
    table.add_column("pending", justify="right")
    for lane in outbox.pending_by_lane:
        table.add_column(lane, justify="right")
    table.add_column("parked", justify="right")
    table.add_column("lag (oldest pending)", justify="right")
    parked = Text(str(outbox.parked), style="bold red" if outbox.parked else "")
    lag = duration(outbox.lag_seconds) if outbox.lag_seconds is not None else Text("—", style="dim")
    table.add_row(str(outbox.pending), *map(str, outbox.pending_by_lane.values()), parked, lag)
    return table


def _calendar_jobs(jobs: CalendarJobsStatus | Unavailable) -> RenderableType:
    if isinstance(jobs, Unavailable):
        return _unavailable("Calendar jobs", jobs)
    table = _table(f"Calendar jobs requested in the last {duration(jobs.window_seconds)}")
    for state in jobs.by_state:
        table.add_column(state, justify="right")
    table.add_column("total", justify="right")
    failing = {"FAILURE", "OVERDUE"}
    cells = [
        Text(str(count), style="bold red" if state in failing and count else "")
        for state, count in jobs.by_state.items()
    ]
    table.add_row(*cells, str(jobs.total))
    caption = f"OVERDUE: unfinished after the {jobs.deadline_seconds:g} s deadline (the sweeper has yet to fail them)"
    parts: list[RenderableType] = [table, Text(caption, style="dim")]
    if jobs.top_failure_reasons:
        reasons = _table("Top failure reasons")
        reasons.add_column("jobs", justify="right")
        reasons.add_column("reason")
        for failure in jobs.top_failure_reasons:
            shown = failure.reason if len(failure.reason) <= REASON_WIDTH else failure.reason[: REASON_WIDTH - 1] + "…"
            reasons.add_row(str(failure.count), shown)
        parts.append(reasons)
    return Group(*parts)


def _event_rates(rates: EventRates | Unavailable) -> RenderableType:
    if isinstance(rates, Unavailable):
        return _unavailable("Event rates", rates)
    table = _table(f"Events in the last {duration(rates.window_seconds)} (event archive)")
    table.add_column("type")
    table.add_column("events", justify="right")
    table.add_column("per minute", justify="right")
    for name, rate in rates.per_type.items():
        table.add_row(name, str(rate.events), f"{rate.per_minute:g}")
    return table
