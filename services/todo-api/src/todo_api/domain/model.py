"""The todo API's domain: a `Todo` that keeps its own rules, and a `CalendarJob` state machine.

Pure: no Flask, no SQLAlchemy. The entities record the events their changes cause; the unit of
work writes them to the outbox in the transaction that stores the change.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from taskoverflow_shared.events import TodoChanged, TodoState
from taskoverflow_shared.topology import calendar_key

TITLE_MAX_LENGTH = 80
DESCRIPTION_MAX_LENGTH = 120
MAX_ID = 2**63 - 1  # the id column is a signed 64-bit integer
TODO_FIELDS = ("title", "description", "completed", "deadline_at")

Action = Literal["created", "updated", "deleted"]


class InvalidInput(ValueError):
    """What a client sent breaks a rule; the message tells the client what to fix (a 400)."""


class NotFound(Exception):
    pass


class IdempotencyKeyReused(Exception):
    """The client sent an Idempotency-Key again with a different request (a 422)."""


class IdempotencyKeyInUse(Exception):
    """Another request with this Idempotency-Key is being handled right now (a 409): retry later."""


def visible_to(owner: str | None, requester: str | None) -> bool:
    """Whether `requester` (a token's `sub`, None without authentication) may see what `owner` has.

    Another user's todo or job is NotFound, never "forbidden": its existence is not theirs to
    learn. Without authentication every caller sees everything, as before there were users.
    """
    return requester is None or owner == requester


def calendar_recipient(notify_email: str | None, requester: str | None, verified_email: str | None) -> str | None:
    """Where a calendar may be mailed. With authentication on only to the requester's own
    verified address: a body naming another address is refused (InvalidInput), since mailing
    it would hand a stranger a link; without one the job names no address."""
    if requester is None or notify_email is None:
        return notify_email
    if verified_email is None:
        raise InvalidInput("notify_email: your token carries no verified e-mail address to notify")
    if notify_email.casefold() != verified_email.casefold():
        raise InvalidInput("notify_email must be your own verified e-mail address (the token's email claim)")
    return verified_email


# --- the rules of a todo's fields: each raises ValueError("<what is wrong>") -------------------


def check_title(title: str) -> str:
    if not title.strip():
        raise ValueError("must not be empty")
    if len(title) > TITLE_MAX_LENGTH:
        raise ValueError(f"must be at most {TITLE_MAX_LENGTH} characters")
    return title


def check_description(description: str | None) -> str | None:
    if description is not None and len(description) > DESCRIPTION_MAX_LENGTH:
        raise ValueError(f"must be at most {DESCRIPTION_MAX_LENGTH} characters")
    return description


def check_deadline(deadline_at: str | None) -> str | None:
    if deadline_at is not None:
        TodoState.parse_deadline(deadline_at)
    return deadline_at


def _checked(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` with every rule applied and the deadline parsed; InvalidInput names the field."""
    checks = {"title": check_title, "description": check_description, "deadline_at": check_deadline}
    checked = dict(fields)
    for name, value in fields.items():
        if name not in TODO_FIELDS:
            raise InvalidInput(f"unknown field {name!r}")
        try:
            if name in checks:
                checks[name](value)
            elif not isinstance(value, bool):
                raise ValueError("must be true or false")
        except ValueError as broken:
            raise InvalidInput(f"{name} {broken}") from None
    if checked.get("deadline_at") is not None:
        checked["deadline_at"] = TodoState.parse_deadline(checked["deadline_at"])
    return checked


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every moment the server stamps is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def todo_state(todo: Any) -> TodoState:
    """How a todo reads outside: REST bodies, TodoChanged and calendar snapshots agree.

    `todo` is the entity, or a row of the todos table read by a view (it has the same names).
    """
    # Validated, not model_construct: pydantic-core checks these seven fields in less time than
    # model_construct's Python takes to set them (a 100-todo calendar snapshot makes 100).
    return TodoState.model_validate(
        {
            "id": todo.id,
            "title": todo.title,
            "description": todo.description,
            "completed": todo.completed,
            # isoformat, not strftime("%Y"): strftime writes the year 999 as "999", not "0999".
            "deadline_at": todo.deadline_at.isoformat(timespec="seconds") if todo.deadline_at else None,
            "created_at": as_utc(todo.created_at).isoformat(),
            "updated_at": as_utc(todo.updated_at).isoformat(),
        }
    )


class Todo:
    """A todo. Every change is checked, bumps `version` and records a TodoChanged.

    `id` is None until the repository has stored a new todo; the events are therefore built
    when released (at commit), from the todo as it then is.
    """

    def __init__(
        self,
        *,
        title: str,
        description: str | None,
        completed: bool,
        deadline_at: datetime | None,
        created_at: datetime,
        updated_at: datetime,
        version: int = 1,
        id: int | None = None,
        owner: str | None = None,
    ) -> None:
        self.id = id
        self.owner = owner  # the creator's token `sub`; None when created without authentication
        self.title = title
        self.description = description
        self.completed = completed
        self.deadline_at = deadline_at
        self.created_at = created_at
        self.updated_at = updated_at
        self.version = version
        self.pending_actions: list[tuple[Action, int]] = []

    @classmethod
    def create(
        cls,
        *,
        now: datetime,
        title: str,
        description: str | None = None,
        completed: bool = False,
        deadline_at: str | None = None,
        owner: str | None = None,
    ) -> Todo:
        fields = _checked(
            {"title": title, "description": description, "completed": completed, "deadline_at": deadline_at}
        )
        todo = cls(**fields, created_at=now, updated_at=now, owner=owner)
        todo.pending_actions.append(("created", todo.version))
        return todo

    def change(self, changes: Mapping[str, Any], now: datetime) -> None:
        """Set the fields in `changes` (a partial update); the others keep their value."""
        if not changes:
            raise InvalidInput("nothing to update: send at least one of " + ", ".join(TODO_FIELDS))
        if "title" in changes and changes["title"] is None:
            raise InvalidInput("title must not be null")
        for name, value in _checked(changes).items():
            setattr(self, name, value)
        self.updated_at = now
        self.version += 1
        self.pending_actions.append(("updated", self.version))

    def delete(self) -> None:
        """Mark the todo deleted; its last event carries it as it was."""
        self.version += 1
        self.pending_actions.append(("deleted", self.version))

    def state(self) -> TodoState:
        return todo_state(self)

    def release_events(self) -> list[TodoChanged]:
        events = [
            TodoChanged(action=action, todo=self.state(), version=version, owner=self.owner)
            for action, version in self.pending_actions
        ]
        self.pending_actions.clear()
        return events


# --- calendar jobs -----------------------------------------------------------------------------


class JobStatus(enum.StrEnum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCESS, JobStatus.FAILURE)


# The reason a job fails when its deadline passes. The calendar may still arrive after it: a
# CalendarReady then turns the job into SUCCESS (`CalendarJob.report`), because the result exists.
DEADLINE_PASSED = "deadline passed"


@dataclass(frozen=True)
class CalendarJobRequested:
    """A job was opened. The outbox sends it as a CalendarRequested that the relay completes
    with the todos at publish time, so a request costs the same whatever the number of todos."""

    job_id: str
    notify_email: str | None
    owner: str | None = None  # the calendar holds only this owner's todos (all of them when None)


@dataclass(frozen=True)
class CalendarResult:
    bucket: str
    key: str
    size_bytes: int
    sha256: str
    event_count: int


@dataclass(frozen=True)
class CalendarLocations:
    """Where the ical-worker stores calendars (topology.json's bucket and prefix).

    A CalendarReady only claims where a calendar is: anyone able to publish to the topic can
    write any bucket and key into it. A job's result is therefore its own object here or
    nothing, and the location is derived from the job id, never taken from the event.
    """

    bucket: str
    calendar_prefix: str

    def of(self, job_id: str) -> tuple[str, str]:
        """(bucket, key) of job `job_id`'s calendar."""
        return self.bucket, calendar_key(self.calendar_prefix, job_id)

    def holds(self, job_id: str, result: CalendarResult) -> bool:
        """Whether `result` names job `job_id`'s own calendar object."""
        return (result.bucket, result.key) == self.of(job_id)


class CalendarCorrupt(NotFound):
    """The stored calendar is not the one recorded for its job (size or SHA-256 differ).

    A NotFound: what the job announced cannot be served, and only a new request helps.
    """


def verified_calendar(chunks: Iterable[bytes], size_bytes: int, sha256: str) -> Iterator[bytes]:
    """`chunks`, passed on only while they can still be the recorded calendar.

    The last chunk is held back until the size and SHA-256 of the whole match, so a calendar
    that fits in one chunk is checked entirely before its first byte leaves, and a longer one
    that turns out wrong is cut short of its Content-Length (clients see a broken download,
    never a complete-looking wrong file). Raises CalendarCorrupt on a mismatch.
    """
    digest = hashlib.sha256()
    seen = 0
    held: bytes | None = None
    for chunk in chunks:
        seen += len(chunk)
        if seen > size_bytes:
            raise CalendarCorrupt(f"the stored calendar is longer than the {size_bytes} bytes recorded for it")
        digest.update(chunk)
        if held:
            yield held
        held = chunk
    if seen != size_bytes:
        raise CalendarCorrupt(f"the stored calendar has {seen} bytes, not the {size_bytes} recorded for it")
    if digest.hexdigest() != sha256:
        raise CalendarCorrupt("the stored calendar's SHA-256 is not the one recorded for it")
    if held:
        yield held


@dataclass(frozen=True)
class CalendarJobFailedByDeadline:
    """The sweeper failed a job whose deadline passed. The outbox sends it as a CalendarFailed
    with `deadline_passed` set, so the notifier tells the requester what clients now read."""

    job_id: str
    notify_email: str | None


CalendarJobEvent = CalendarJobRequested | CalendarJobFailedByDeadline


class Report(enum.Enum):
    """What a worker's report did to a job."""

    RECORDED = "recorded"
    # A result after the job failed: the calendar exists, so SUCCESS wins over the failure.
    SUPERSEDED_FAILURE = "superseded_failure"
    ALREADY_FINISHED = "already_finished"  # a redelivery, or a second report: ignored


class CalendarJob:
    """PENDING until the worker reports or the deadline passes, then SUCCESS or FAILURE.

    Reports are idempotent. One move leaves a finished state: a result that arrives after a
    FAILURE (typically the deadline's, while the calendar was on its way) makes the job SUCCESS,
    since the calendar it names exists and the requester is told so (CalendarReady) anyway.
    """

    def __init__(
        self, *, id: str, requested_at: datetime, notify_email: str | None = None, owner: str | None = None
    ) -> None:
        self.id = id
        self.owner = owner
        self.status = JobStatus.PENDING
        self.requested_at = requested_at
        self.notify_email = notify_email
        self.finished_at: datetime | None = None
        self.error: str | None = None
        self.result_bucket: str | None = None
        self.result_key: str | None = None
        self.result_size_bytes: int | None = None
        self.result_sha256: str | None = None
        self.event_count: int | None = None
        self.pending_events: list[CalendarJobEvent] = []

    @classmethod
    def open(cls, job_id: str, notify_email: str | None, now: datetime, owner: str | None = None) -> CalendarJob:
        job = cls(id=job_id, requested_at=now, notify_email=notify_email, owner=owner)
        job.pending_events.append(CalendarJobRequested(job_id, notify_email, owner))
        return job

    def is_overdue(self, now: datetime, deadline_seconds: float) -> bool:
        return not JobStatus(self.status).finished and now - as_utc(self.requested_at) > timedelta(
            seconds=deadline_seconds
        )

    def fail_if_overdue(self, now: datetime, deadline_seconds: float) -> bool:
        """Fail the job if it is unfinished past its deadline, and announce it; True if it did."""
        if not self.is_overdue(now, deadline_seconds):
            return False
        self.status, self.error, self.finished_at = JobStatus.FAILURE, DEADLINE_PASSED, now
        self.pending_events.append(CalendarJobFailedByDeadline(self.id, self.notify_email))
        return True

    def report(self, outcome: CalendarResult | str, now: datetime) -> Report:
        """Record the worker's outcome: a result, or the reason it failed."""
        status = JobStatus(self.status)
        if status == JobStatus.FAILURE and isinstance(outcome, CalendarResult):
            self._succeed(outcome, now)
            return Report.SUPERSEDED_FAILURE
        if status.finished:
            return Report.ALREADY_FINISHED
        if isinstance(outcome, str):
            self.status, self.error, self.finished_at = JobStatus.FAILURE, outcome, now
        else:
            self._succeed(outcome, now)
        return Report.RECORDED

    def _succeed(self, result: CalendarResult, now: datetime) -> None:
        self.status, self.error, self.finished_at = JobStatus.SUCCESS, None, now
        self.result_bucket, self.result_key = result.bucket, result.key
        self.result_size_bytes, self.result_sha256 = result.size_bytes, result.sha256
        self.event_count = result.event_count

    def release_events(self) -> list[CalendarJobEvent]:
        events, self.pending_events = self.pending_events, []
        return events
