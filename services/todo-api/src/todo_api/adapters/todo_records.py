"""How a stored todo reads to the outside world: REST responses, events and snapshots agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from todo_api.adapters.orm import TodoRow


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything the server stamps is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def todo_record(todo: TodoRow) -> dict[str, Any]:
    return {
        "id": todo.id,
        "title": todo.title,
        "description": todo.description,
        "completed": todo.completed,
        # isoformat, not strftime("%Y"): strftime writes the year 999 as "999", not "0999".
        "deadline_at": todo.deadline_at.isoformat(timespec="seconds") if todo.deadline_at else None,
        "created_at": as_utc(todo.created_at).isoformat(),
        "updated_at": as_utc(todo.updated_at).isoformat(),
    }
