"""The todo's rules: what a valid todo is, what a change may touch, how lists are filtered.

Pure: no Flask, no SQLAlchemy. Every rule failure is an `InvalidInput` with a message that
tells the client what to fix; the web layer turns it into 400 `{"error": ...}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

TITLE_MAX_LENGTH = 80
DESCRIPTION_MAX_LENGTH = 120
DEADLINE_FORMAT = "%Y-%m-%dT%H:%M:%S"
DEADLINE_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$")  # ASCII digits only
MAX_WINDOW_DAYS = 36_500
# ASCII digits, leading zeros allowed: str.isdigit() also takes "²", which int() refuses, and
# int() refuses more than 4300 digits; both were 500s.
_WINDOW_SHAPE = re.compile(r"0*([0-9]{1,5})")


class InvalidInput(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _TodoFields(BaseModel):
    # strict: "true" is not a bool and 5 is not a string; forbid: id/created_at are the server's.
    model_config = ConfigDict(extra="forbid", strict=True)

    title: str | None = None
    description: str | None = None
    completed: bool | None = None
    deadline_at: str | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, title: str | None) -> str | None:
        if title is None:
            return None
        if not title.strip():
            raise ValueError("must not be empty")
        if len(title) > TITLE_MAX_LENGTH:
            raise ValueError(f"must be at most {TITLE_MAX_LENGTH} characters")
        return title

    @field_validator("description")
    @classmethod
    def _description(cls, description: str | None) -> str | None:
        if description is not None and len(description) > DESCRIPTION_MAX_LENGTH:
            raise ValueError(f"must be at most {DESCRIPTION_MAX_LENGTH} characters")
        return description

    @field_validator("deadline_at")
    @classmethod
    def _deadline(cls, deadline: str | None) -> str | None:
        if deadline is not None:
            parse_deadline(deadline)
        return deadline


@dataclass(frozen=True)
class TodoInput:
    """Validated client fields: only the keys the client sent (a partial update sends a few)."""

    fields: dict[str, Any]


def parse_deadline(text: str) -> datetime:
    if not DEADLINE_SHAPE.match(text):
        raise ValueError("must look like YYYY-MM-DDTHH:MM:SS")
    try:
        return datetime.strptime(text, DEADLINE_FORMAT)
    except ValueError:
        raise ValueError("is not a real date and time") from None


def validate_new_todo(payload: object) -> TodoInput:
    fields = _validate(payload)
    if fields.get("title") is None:
        raise InvalidInput("title is required")
    if "completed" in fields and fields["completed"] is None:
        raise InvalidInput("completed must be true or false")
    fields.setdefault("description", None)
    fields.setdefault("completed", False)
    fields.setdefault("deadline_at", None)
    return TodoInput(_with_parsed_deadline(fields))


def validate_todo_changes(payload: object) -> TodoInput:
    fields = _validate(payload)
    if not fields:
        raise InvalidInput("nothing to update: send at least one of title, description, completed, deadline_at")
    if "title" in fields and fields["title"] is None:
        raise InvalidInput("title must not be null")
    if "completed" in fields and fields["completed"] is None:
        raise InvalidInput("completed must be true or false")
    return TodoInput(_with_parsed_deadline(fields))


def _validate(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise InvalidInput("request body must be a JSON object")
    try:
        model = _TodoFields.model_validate(payload)
    except ValidationError as invalid:
        raise InvalidInput(_describe(invalid)) from None
    return {name: getattr(model, name) for name in model.model_fields_set}


def _with_parsed_deadline(fields: dict[str, Any]) -> dict[str, Any]:
    if fields.get("deadline_at") is not None:
        fields["deadline_at"] = parse_deadline(fields["deadline_at"])
    return fields


def _describe(invalid: ValidationError) -> str:
    messages = []
    for error in invalid.errors():
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            messages.append(f"unknown field {field!r}")
        elif error["type"].startswith(("string_type", "bool_type")):
            expected = "a string" if error["type"].startswith("string") else "true or false"
            messages.append(f"{field} must be {expected}")
        else:
            messages.append(f"{field} {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(messages)


@dataclass(frozen=True)
class TodoFilters:
    completed: bool | None = None
    deadline_before: datetime | None = None


def parse_filters(arguments: dict[str, str], now: datetime | None = None) -> TodoFilters:
    """`completed=true|false`; `window=N`: deadline within N days from now, past ones included."""
    completed = None
    if "completed" in arguments:
        raw = arguments["completed"].lower()
        if raw not in ("true", "false"):
            raise InvalidInput("completed must be true or false")
        completed = raw == "true"
    deadline_before = None
    if "window" in arguments:
        window = _WINDOW_SHAPE.fullmatch(arguments["window"])
        if window is None or int(window[1]) > MAX_WINDOW_DAYS:
            raise InvalidInput(f"window must be a whole number of days between 0 and {MAX_WINDOW_DAYS}")
        # Deadlines are naive local times, as clients send them; compare in the same terms.
        now = now or datetime.now(UTC).replace(tzinfo=None)
        deadline_before = now + timedelta(days=int(window[1]))
    return TodoFilters(completed=completed, deadline_before=deadline_before)
