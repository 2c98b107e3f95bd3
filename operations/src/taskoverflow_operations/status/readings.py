"""What one look at the system finds. Every part is either its reading or `Unavailable` with the
reason, so a database or S3 that cannot be reached shows as such instead of ending the command."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from typing import Any, Literal

# Where a queue's oldest-message age came from (see queue_depths.py for why each is used when):
# "cloudwatch" — AWS/SQS ApproximateAgeOfOldestMessage; "peek" — the SentTimestamp of the
# oldest message a receive with VisibilityTimeout=0 returned; "empty" — nothing in the queue;
# "not measured" — none of those applies (an emulator's source queue without --peek-age).
AgeSource = Literal["cloudwatch", "peek", "empty", "not measured"]


@dataclass(frozen=True)
class Unavailable:
    """A part that could not be read, and why (the error as the operator should see it)."""

    reason: str

    @classmethod
    def because(cls, error: BaseException) -> Unavailable:
        first_line = (str(error).strip().splitlines() or [""])[0]
        return cls(f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__)


@dataclass(frozen=True)
class QueueDepth:
    """One queue's counts from GetQueueAttributes and the age of its oldest message, in seconds."""

    visible: int
    in_flight: int
    delayed: int
    oldest_age_seconds: float | None
    oldest_age_source: AgeSource


@dataclass(frozen=True)
class ServiceQueues:
    """A consuming service's queue and its dead-letter queue."""

    service: str
    queue_name: str
    dlq_name: str
    queue: QueueDepth | Unavailable
    dlq: QueueDepth | Unavailable


@dataclass(frozen=True)
class QueuesStatus:
    services: list[ServiceQueues]
    # Why no age came from CloudWatch (an emulator without it, or no permission), if so.
    cloudwatch_unavailable: str | None = None


@dataclass(frozen=True)
class OutboxStatus:
    """Rows waiting in the todo-api's outbox, and those parked; `lag_seconds` is the age of the
    oldest pending row."""

    pending: int
    pending_by_lane: dict[str, int]
    parked: int
    lag_seconds: float | None


@dataclass(frozen=True)
class FailureReason:
    reason: str
    count: int


@dataclass(frozen=True)
class CalendarJobsStatus:
    """Jobs requested in the last `window_seconds`, by state. OVERDUE counts PENDING or STARTED
    jobs past the todo-api's deadline, which its sweeper has not failed yet (more than a sweep
    interval's worth means the sweeper is not running); they are not counted again under
    PENDING or STARTED."""

    window_seconds: int
    deadline_seconds: float
    by_state: dict[str, int]
    top_failure_reasons: list[FailureReason]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())


@dataclass(frozen=True)
class EventRate:
    events: int
    per_minute: float


@dataclass(frozen=True)
class EventRates:
    """Events per type whose time falls in the last `window_seconds`, as the archive holds them."""

    window_seconds: int
    per_type: dict[str, EventRate]


@dataclass(frozen=True)
class SystemStatus:
    taken_at: datetime
    delivery: str
    queues: QueuesStatus | Unavailable
    outbox: OutboxStatus | Unavailable
    calendar_jobs: CalendarJobsStatus | Unavailable
    event_rates: EventRates | Unavailable

    @property
    def unavailable_parts(self) -> list[str]:
        """The parts (and single queues) that could not be read."""
        parts = {
            "queues": self.queues,
            "outbox": self.outbox,
            "calendar_jobs": self.calendar_jobs,
            "event_rates": self.event_rates,
        }
        unavailable = [name for name, part in parts.items() if isinstance(part, Unavailable)]
        if isinstance(self.queues, QueuesStatus):
            for service in self.queues.services:
                for name, depth in ((service.queue_name, service.queue), (service.dlq_name, service.dlq)):
                    if isinstance(depth, Unavailable):
                        unavailable.append(f"queue {name}")
        return unavailable


# Properties `--json` shows beside the fields.
_DERIVED = {CalendarJobsStatus: ("total",), SystemStatus: ("unavailable_parts",)}


def as_json(value: Any) -> Any:
    """The JSON form `--json` prints: dataclasses as objects, `Unavailable` as {"unavailable": reason}."""
    if isinstance(value, Unavailable):
        return {"unavailable": value.reason}
    if is_dataclass(value) and not isinstance(value, type):
        names = [field.name for field in fields(value)] + list(_DERIVED.get(type(value), ()))
        return {name: as_json(getattr(value, name)) for name in names}
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value
