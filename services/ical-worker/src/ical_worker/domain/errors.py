"""Why a calendar job cannot succeed, however often it is retried."""

from __future__ import annotations


class BadCalendarData(Exception):
    """The request's data can never become a calendar: the job ends with CalendarFailed(reason).

    `reason` is written for people (it reaches the todo-api's status endpoint), so it names the
    todo, line or object at fault.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidTodo(BadCalendarData):
    """One todo cannot be rendered (e.g. a deadline that is not YYYY-MM-DDTHH:MM:SS)."""


class InvalidSnapshot(BadCalendarData):
    """The claim-checked snapshot is missing, altered, or not one TodoState per line."""


class FeedConflict(Exception):
    """Another writer changed an owner's feed state since it was read: read it again and re-apply."""
