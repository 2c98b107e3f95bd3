"""One owner's live calendar feed: the latest known version of each of their todos, and what it shows.

TodoChanged events reach the feed at least once and, on a standard queue or in a replay, in any
order. Each todo's `version` grows by one with every change, so the feed keeps, per todo, the
highest version it has seen and ignores any event that is not newer: a redelivery, a late
overtaken update or a replay can never move a todo backwards. A deletion is kept as a tombstone
with its version, so an older update arriving after it cannot bring the todo back.

Pure: the state is serialised to and from bytes here; where those bytes live is the adapter's
business.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ical_worker.domain.calendar import CalendarRenderer, RenderedCalendar
from taskoverflow_shared.events import Envelope, TodoChanged, TodoState

FEED_NAME = "TaskOverflow"
STATE_FORMAT = 1


@dataclass(frozen=True)
class FeedChange:
    """A received TodoChanged: its envelope (for the trace ids) and its data."""

    envelope: Envelope
    change: TodoChanged


@dataclass(frozen=True)
class FeedEntry:
    """The newest known version of one todo; `todo` is None once that version deleted it."""

    version: int
    todo: TodoState | None


@dataclass
class FeedState:
    """Every todo one owner's feed has heard of, by id."""

    entries: dict[int, FeedEntry] = field(default_factory=dict)

    def apply(self, change: TodoChanged) -> bool:
        """Take `change` in if it is newer than what the feed knows of its todo; whether it was."""
        known = self.entries.get(change.todo.id)
        if known is not None and known.version >= change.version:
            return False
        todo = None if change.action == "deleted" else change.todo
        self.entries[change.todo.id] = FeedEntry(change.version, todo)
        return True

    def apply_all(self, changes: Iterable[TodoChanged]) -> list[bool]:
        """Take in, in turn, every change newer than what is known; for each, whether it was."""
        return [self.apply(change) for change in changes]

    def shown(self) -> list[tuple[TodoState, int]]:
        """The todos the calendar shows, with their versions: those not deleted and not completed.

        A completed todo leaves the calendar (docs/decisions/0008): a VEVENT has no "done"
        status, and a subscribed calendar is for what is still ahead.
        """
        return [
            (entry.todo, entry.version)
            for entry in self.entries.values()
            if entry.todo is not None and not entry.todo.completed
        ]

    def render(self, renderer: CalendarRenderer) -> RenderedCalendar:
        """The feed's calendar: a pure function of the state, so a rebuild gives the same bytes."""
        return renderer.render_feed(self.shown(), FEED_NAME)

    def to_bytes(self) -> bytes:
        """Canonical JSON (ids in order, keys sorted): equal states are equal bytes."""
        todos = {
            str(todo_id): {
                "version": entry.version,
                "todo": None if entry.todo is None else entry.todo.model_dump(mode="json"),
            }
            for todo_id, entry in sorted(self.entries.items())
        }
        return json.dumps({"format": STATE_FORMAT, "todos": todos}, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, body: bytes) -> FeedState:
        raw = json.loads(body)
        if raw.get("format") != STATE_FORMAT:
            raise ValueError(f"feed state format {raw.get('format')!r} is not {STATE_FORMAT}")
        return cls(
            {
                int(todo_id): FeedEntry(
                    version=int(entry["version"]),
                    todo=None if entry["todo"] is None else TodoState.model_validate(entry["todo"]),
                )
                for todo_id, entry in raw["todos"].items()
            }
        )
