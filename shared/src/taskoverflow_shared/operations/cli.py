"""Argument types the operator scripts share."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def instant(text: str) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is taken as UTC, like envelope times."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as invalid:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or date-time: {text!r}") from invalid
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
