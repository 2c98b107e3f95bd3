"""Todos in, iCalendar (RFC 5545) bytes out: the whole business of the ical-worker, without I/O.

The output is a pure function of the todos: no render time, no random UIDs, events ordered by
todo id. A redelivered CalendarRequested therefore rewrites byte-identical calendars/<job>.ics
and announces the same size and checksum, which is what makes the worker idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from ical_worker.domain.content_lines import CRLF, fold, text_property
from ical_worker.domain.errors import InvalidTodo
from taskoverflow_shared.events import TodoState

PRODID = b"-//TaskOverflow//ical-worker 1.0//EN"
CALENDAR_HEADER = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:" + PRODID + b"\r\nCALSCALE:GREGORIAN\r\n"
CALENDAR_FOOTER = b"END:VCALENDAR\r\n"

# Enough for the todo sets seen in practice; each entry costs roughly 0.5-1 KiB.
DEFAULT_CACHE_SIZE = 50_000

# How often a subscribed calendar client is asked to fetch the feed again.
FEED_REFRESH_INTERVAL = b"PT5M"


def _by_todo_id(versioned: tuple[TodoState, int | None]) -> int:
    return versioned[0].id


@dataclass(frozen=True)
class RenderedCalendar:
    """A finished .ics document and the facts CalendarReady announces about it."""

    body: bytes
    event_count: int
    sha256: str

    @property
    def size_bytes(self) -> int:
        return len(self.body)


def event_uid(todo_id: int) -> str:
    """The VEVENT UID of a todo: stable across jobs, so calendar clients update instead of duplicating."""
    return f"todo-{todo_id}@taskoverflow"


def render_event(
    todo_id: int, title: str, description: str | None, deadline_at: str, updated_at: str, sequence: int | None = None
) -> bytes:
    """One VEVENT block for a todo with a deadline, CRLF-terminated and folded.

    DTSTART is the deadline as floating local time (RFC 5545 form #1): the todo-api stores a
    wall-clock time without zone, so the event shows at that time wherever it is viewed.
    DTSTAMP is the todo's last revision (allowed without a METHOD), never the render time, so
    the same todo always renders to the same bytes. No DTEND: the event is an instant.
    SEQUENCE, when given (the live feed passes the todo's version), tells a subscribed client
    which revision of the event is newer.
    """
    try:
        return b"".join(
            (
                b"BEGIN:VEVENT\r\n",
                fold(b"UID:" + event_uid(todo_id).encode()),
                b"DTSTAMP:" + _utc_timestamp(todo_id, updated_at) + CRLF,
                b"DTSTART:" + _floating_local_time(todo_id, deadline_at) + CRLF,
                b"" if sequence is None else b"SEQUENCE:%d\r\n" % sequence,
                text_property(b"SUMMARY", title),
                text_property(b"DESCRIPTION", description or ""),
                b"END:VEVENT\r\n",
            )
        )
    except UnicodeEncodeError as unencodable:
        # Only reachable with lone surrogates, which JSON input cannot carry; refuse, never guess.
        raise InvalidTodo(f"todo {todo_id}: text is not valid Unicode ({unencodable.reason})") from unencodable


class CalendarRenderer:
    """Renders calendars, remembering each todo's VEVENT block between jobs.

    Repeated exports of a mostly unchanged todo list re-render only the todos that changed. The
    cache key is every field the block is made of, so a hit is always exactly what rendering
    would produce (no trust in updated_at moving on every edit). `cache_size=0` turns it off.
    """

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._render_event: Callable[[int, str, str | None, str, str, int | None], bytes] = (
            lru_cache(maxsize=cache_size)(render_event) if cache_size > 0 else render_event
        )

    def render(self, todos: Iterable[TodoState]) -> RenderedCalendar:
        """The calendar of `todos`: one VEVENT per todo with a deadline, ordered by todo id.

        Todos without a deadline have no time to show and are left out; they never fail a job.
        Raises InvalidTodo for a bad deadline or timestamp, or a todo id that appears twice
        (two events with one UID would make clients drop one of them silently).
        """
        return self._calendar(CALENDAR_HEADER, ((todo, None) for todo in todos))

    def render_feed(self, versioned_todos: Iterable[tuple[TodoState, int]], name: str) -> RenderedCalendar:
        """A subscribable calendar named `name`: as `render`, each event's SEQUENCE its todo's version.

        Clients that subscribe re-read it every REFRESH-INTERVAL (X-PUBLISHED-TTL for those that
        only know Apple's and Microsoft's name for it).
        """
        header = b"".join(
            (
                CALENDAR_HEADER,
                text_property(b"X-WR-CALNAME", name),
                b"REFRESH-INTERVAL;VALUE=DURATION:" + FEED_REFRESH_INTERVAL + CRLF,
                b"X-PUBLISHED-TTL:" + FEED_REFRESH_INTERVAL + CRLF,
            )
        )
        return self._calendar(header, versioned_todos)

    def _calendar(self, header: bytes, todos: Iterable[tuple[TodoState, int | None]]) -> RenderedCalendar:
        parts = [header]
        previous_id: int | None = None
        for todo, sequence in sorted(todos, key=_by_todo_id):
            if todo.id == previous_id:
                raise InvalidTodo(f"todo {todo.id} appears more than once")
            previous_id = todo.id
            if todo.deadline_at is None:
                continue
            parts.append(
                self._render_event(todo.id, todo.title, todo.description, todo.deadline_at, todo.updated_at, sequence)
            )
        event_count = len(parts) - 1
        parts.append(CALENDAR_FOOTER)
        body = b"".join(parts)
        return RenderedCalendar(body=body, event_count=event_count, sha256=hashlib.sha256(body).hexdigest())


def _floating_local_time(todo_id: int, deadline_at: str) -> bytes:
    try:
        TodoState.parse_deadline(deadline_at)  # the todo-api's own check: one format, defined once
    except ValueError as bad:
        raise InvalidTodo(f"todo {todo_id}: deadline_at {deadline_at!r} {bad}") from bad
    return deadline_at.replace("-", "").replace(":", "").encode()


def _utc_timestamp(todo_id: int, updated_at: str) -> bytes:
    try:
        moment = datetime.fromisoformat(updated_at)
        if moment.tzinfo is None:
            # The todo-api writes offsets; a naive value can only be UTC from a zone-less store.
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError) as invalid:
        raise InvalidTodo(f"todo {todo_id}: updated_at {updated_at!r} is not an ISO 8601 timestamp") from invalid
    # Formatted by hand: strftime's %Y does not zero-pad years before 1000 on every platform.
    return (
        f"{moment.year:04d}{moment.month:02d}{moment.day:02d}T{moment.hour:02d}{moment.minute:02d}{moment.second:02d}Z"
    ).encode()
