"""Argument types the operator commands share, and how a command line runs the command it parsed."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.topology import QueueSpec, load_topology


def run_command(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    """Parse `argv` and run the command it names (its `run` default); the exit status."""
    args = parser.parse_args(argv)
    configure_logging("operations")
    status: int = args.run(args)
    return status


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def instant(text: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is taken as UTC, like envelope times."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as invalid:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or date-time: {text!r}") from invalid
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def queue_spec(text: str) -> QueueSpec:
    """A service's queue named the way an operator would: `notifier`, its queue name or its DLQ name."""
    for spec in load_topology().queues.values():
        if text in (spec.service, spec.name, spec.dlq_name):
            return spec
    known = ", ".join(sorted(load_topology().queues))
    raise argparse.ArgumentTypeError(f"no queue {text!r} in the topology; services: {known}")
