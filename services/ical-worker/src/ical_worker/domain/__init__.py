"""The ical-worker's pure core: todos in, calendar bytes out. Imports no adapter, no boto3."""

from ical_worker.domain.calendar import CalendarRenderer, RenderedCalendar, event_uid, render_event
from ical_worker.domain.errors import BadCalendarData, FeedConflict, InvalidSnapshot, InvalidTodo
from ical_worker.domain.feed import FeedChange, FeedEntry, FeedState
from ical_worker.domain.snapshot import SnapshotDecoder
from ical_worker.domain.storage_layout import StorageLayout

__all__ = [
    "BadCalendarData",
    "CalendarRenderer",
    "FeedChange",
    "FeedConflict",
    "FeedEntry",
    "FeedState",
    "InvalidSnapshot",
    "InvalidTodo",
    "RenderedCalendar",
    "SnapshotDecoder",
    "StorageLayout",
    "event_uid",
    "render_event",
]
