"""Fixtures for the ical-worker's tests: todo factories and an RFC 5545 reader of our own.

The reader is deliberately independent of icalendar (and of the renderer's code): it checks the
raw octets (CRLF everywhere, no physical line over 75 octets, every physical line valid UTF-8),
unfolds, balances BEGIN/END, unescapes TEXT strictly, and refuses anything it does not expect.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest

from taskoverflow_shared.events import S3ObjectRef, TodoState

UPDATED_AT = "2024-06-01T12:30:45.123456+02:00"


@dataclass
class IcsCalendar:
    """A parsed calendar: the VCALENDAR's own properties, and each VEVENT's unescaped properties."""

    properties: dict[str, str]
    events: list[dict[str, str]] = field(default_factory=list)

    def event(self, uid: str) -> dict[str, str]:
        (found,) = [event for event in self.events if event["UID"] == uid]
        return found


_NAME = re.compile(r"[A-Za-z0-9-]+")
_UTC_DATE_TIME = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_FLOATING_DATE_TIME = re.compile(r"[0-9]{8}T[0-9]{6}")
_TEXT_PROPERTIES = {"SUMMARY", "DESCRIPTION", "PRODID", "UID"}
_REQUIRED_IN_EVENT = ("UID", "DTSTAMP", "DTSTART", "SUMMARY", "DESCRIPTION")


def read_ics(body: bytes) -> IcsCalendar:
    """Parse `body` strictly; any departure from what RFC 5545 requires fails an assertion."""
    assert body.endswith(b"\r\n"), "the last line must end with CRLF"
    physical = body[:-2].split(b"\r\n")
    for number, line in enumerate(physical, start=1):
        assert b"\r" not in line and b"\n" not in line, f"line {number} has a bare CR or LF"
        assert len(line) <= 75, f"line {number} is {len(line)} octets"
        line.decode("utf-8")  # raises if a fold split a character
        assert line, f"line {number} is empty"
    logical: list[bytes] = []
    for line in physical:
        if line[:1] == b" ":
            assert logical, "a continuation line cannot come first"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    stack: list[str] = []
    calendar: IcsCalendar | None = None
    current: dict[str, str] | None = None
    for raw in logical:
        text = raw.decode("utf-8")
        name, colon, value = text.partition(":")
        assert colon, f"no ':' in {text!r}"
        name, _, parameters = name.partition(";")
        assert _NAME.fullmatch(name), f"bad property name {name!r}"
        # The one parameter we write: the live feed's refresh interval is a DURATION.
        assert parameters in ("", "VALUE=DURATION"), f"unexpected parameters {parameters!r}"
        if name == "BEGIN":
            stack.append(value)
            if value == "VCALENDAR":
                assert calendar is None and len(stack) == 1, "exactly one top-level VCALENDAR"
                calendar = IcsCalendar(properties={})
            elif value == "VEVENT":
                assert stack == ["VCALENDAR", "VEVENT"], f"VEVENT nested in {stack}"
                current = {}
            else:
                raise AssertionError(f"unexpected component {value}")
            continue
        if name == "END":
            assert stack and stack.pop() == value, f"END:{value} does not close {stack}"
            if value == "VEVENT":
                assert current is not None and calendar is not None
                missing = [required for required in _REQUIRED_IN_EVENT if required not in current]
                assert not missing, f"VEVENT {current.get('UID')} lacks {missing}"
                calendar.events.append(current)
                current = None
            continue
        assert calendar is not None and stack, f"{name} outside any component"
        target = current if stack[-1] == "VEVENT" else calendar.properties
        assert target is not None
        assert name not in target, f"{name} appears twice in one component"
        target[name] = _unescape_text(value) if name in _TEXT_PROPERTIES else value
    assert not stack, f"unclosed components {stack}"
    assert calendar is not None, "no VCALENDAR"
    assert calendar.properties.get("VERSION") == "2.0"
    assert calendar.properties.get("PRODID")
    for event in calendar.events:
        assert _UTC_DATE_TIME.fullmatch(event["DTSTAMP"]), f"DTSTAMP {event['DTSTAMP']} is not UTC"
        assert _FLOATING_DATE_TIME.fullmatch(event["DTSTART"]), f"DTSTART {event['DTSTART']}"
    uids = [event["UID"] for event in calendar.events]
    assert len(uids) == len(set(uids)), "UIDs repeat"
    return calendar


def _unescape_text(value: str) -> str:
    out = []
    characters = iter(value)
    for character in characters:
        if character == "\\":
            escaped = next(characters, None)
            assert escaped is not None and escaped in "\\;,nN", f"bad escape in {value!r}"
            out.append("\n" if escaped in "nN" else escaped)
        else:
            # A TEXT value may not carry these bare; control characters are not TSAFE-CHARs.
            assert character not in ";," and (character == "\t" or ord(character) >= 0x20), (
                f"unescaped {character!r} in {value!r}"
            )
            assert character != "\x7f", f"DEL in {value!r}"
            out.append(character)
    return "".join(out)


def make_todo(todo_id: int, **overrides: object) -> TodoState:
    fields: dict[str, object] = {
        "id": todo_id,
        "title": f"Todo {todo_id}",
        "description": f"Details of todo {todo_id}",
        "completed": False,
        "deadline_at": "2025-03-14T15:09:26",
        "created_at": "2024-01-01T00:00:00+00:00",
        "updated_at": UPDATED_AT,
    }
    fields.update(overrides)
    return TodoState.model_validate(fields)


def many_todos(count: int, *, start: int = 1) -> list[TodoState]:
    """A varied set: every tenth without deadline, some with text that needs escaping or folding."""
    todos = []
    for todo_id in range(start, start + count):
        todos.append(
            make_todo(
                todo_id,
                title=f"Todo {todo_id}: call Zoë, bring cake; {'x' * (todo_id % 70)}",
                description=None if todo_id % 7 == 0 else f"line one\nline two, with a \\ and ü {todo_id}",
                completed=todo_id % 3 == 0,
                deadline_at=None
                if todo_id % 10 == 0
                else f"2025-{todo_id % 12 + 1:02d}-{todo_id % 28 + 1:02d}T09:30:00",
            )
        )
    return todos


def _deadline(todo_id: int) -> str:
    return f"2025-{todo_id % 12 + 1:02d}-{todo_id % 28 + 1:02d}T09:30:00"


def ndjson(todos: Iterable[TodoState]) -> bytes:
    """A snapshot exactly as the todo-api writes it: one compact JSON object per line, final newline."""
    return b"".join(todo.model_dump_json().encode() + b"\n" for todo in todos)


def snapshot_ref(
    body: bytes, *, bucket: str = "taskoverflow-calendars", key: str = "snapshots/job.ndjson"
) -> S3ObjectRef:
    return S3ObjectRef(bucket=bucket, key=key, size_bytes=len(body), sha256=hashlib.sha256(body).hexdigest())


@dataclass(frozen=True)
class TodoKit:
    """The helpers above, handed to test modules as one fixture (test folders are not packages)."""

    make_todo: Callable[..., TodoState] = make_todo
    many_todos: Callable[..., list[TodoState]] = many_todos
    ndjson: Callable[[Iterable[TodoState]], bytes] = ndjson
    snapshot_ref: Callable[..., S3ObjectRef] = snapshot_ref
    read_ics: Callable[[bytes], IcsCalendar] = read_ics


@pytest.fixture
def kit() -> TodoKit:
    return TodoKit()
