"""What clients ask of the todo API. A request body is validated by one pydantic model here,
which also documents it (the OpenAPI schemas are generated from these models); the field rules
themselves are the domain's (`model.check_*`), so a body and the entity cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from taskoverflow_shared.events import TodoState
from taskoverflow_shared.mail_addresses import MAIL_ADDRESS_MAX_LENGTH, MAIL_ADDRESS_PATTERN
from todo_api.domain.model import (
    DESCRIPTION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    check_deadline,
    check_description,
    check_title,
)

_TEXT = r"^[^\x00]*$"
_NOT_BLANK_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"
_DEADLINE_NOTE = "Naive local date and time, `YYYY-MM-DDTHH:MM:SS`; it must exist on the calendar."


def _documents(**schema: Any) -> Any:
    # The schema says what the domain's check enforces; pydantic itself does not check it twice.
    return Field(json_schema_extra=schema)


Title = Annotated[
    str,
    AfterValidator(check_title),
    _documents(minLength=1, maxLength=TITLE_MAX_LENGTH, pattern=_NOT_BLANK_TEXT, examples=["Buy milk"]),
]
Description = Annotated[
    str,
    AfterValidator(check_description),
    _documents(maxLength=DESCRIPTION_MAX_LENGTH, pattern=_TEXT, examples=["semi-skimmed"]),
]
Deadline = Annotated[
    str,
    AfterValidator(check_deadline),
    _documents(pattern=TodoState.DEADLINE_PATTERN, examples=["2030-01-02T09:30:00"]),
]
# strict: "true" is not a bool and 5 is not a string; forbid: id and created_at are the server's.
_BODY = ConfigDict(extra="forbid", strict=True)


class NewTodo(BaseModel):
    """A todo to create. `id`, `created_at` and `updated_at` are the server's: sending them is a 400."""

    model_config = _BODY
    title: Title
    description: Description | None = None
    completed: bool = False
    deadline_at: Deadline | None = Field(None, description=_DEADLINE_NOTE)


def _at_least_one_field_and_no_defaults(schema: dict[str, Any]) -> None:
    # A change has no defaults: a field it leaves out keeps its value.
    schema["minProperties"] = 1
    for property_schema in schema["properties"].values():
        property_schema.pop("default", None)


class TodoChanges(BaseModel):
    """A partial update: at least one field; `title` and `completed` cannot be null."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_at_least_one_field_and_no_defaults)
    title: Title = None  # type: ignore[assignment]  # optional in a change, yet never null
    description: Description | None = None
    completed: bool = None  # type: ignore[assignment]
    deadline_at: Deadline | None = Field(None, description=_DEADLINE_NOTE)

    @model_validator(mode="after")
    def _not_empty(self) -> TodoChanges:
        if not self.model_fields_set:
            raise ValueError("nothing to update: send at least one of title, description, completed, deadline_at")
        return self

    def fields(self) -> dict[str, Any]:
        """Only the fields the client sent."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class CalendarRequest(BaseModel):
    """Optional body of a calendar export: who to tell when it is ready.

    The address follows the notifier's rule (`taskoverflow_shared.mail_addresses`), so one the
    API accepts is one the notifier can mail. With authentication on it must be the caller's own
    verified address (the token's `email` claim).
    """

    model_config = ConfigDict(extra="forbid")
    notify_email: (
        Annotated[str, Field(max_length=MAIL_ADDRESS_MAX_LENGTH, pattern=MAIL_ADDRESS_PATTERN, strict=True)] | None
    ) = None


# --- the commands: a body with what the request adds to it -------------------------------------


# `owner` is the caller's token `sub`, or None when authentication is off (then a caller may
# reach every todo, as before users existed).


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's `Idempotency-Key`: the same key with the same request is answered as the first
    time and changes nothing more. Keys belong to their owner: two users may pick the same one."""

    owner: str | None
    value: str
    # Of the request's method, path and body: the same key on another request is refused.
    fingerprint: str
    received_at: datetime


@dataclass(frozen=True)
class CreateTodo:
    todo: NewTodo
    correlation_id: str
    owner: str | None = None
    idempotency_key: IdempotencyKey | None = None


@dataclass(frozen=True)
class UpdateTodo:
    todo_id: int
    changes: TodoChanges
    correlation_id: str
    owner: str | None = None
    idempotency_key: IdempotencyKey | None = None


@dataclass(frozen=True)
class DeleteTodo:
    todo_id: int
    correlation_id: str
    owner: str | None = None
    idempotency_key: IdempotencyKey | None = None


@dataclass(frozen=True)
class RequestCalendar:
    request: CalendarRequest
    correlation_id: str
    owner: str | None = None
    # The token's `email`, only when its issuer verified it; the only address mail may go to.
    verified_email: str | None = None
    idempotency_key: IdempotencyKey | None = None


@dataclass(frozen=True)
class FailOverdueCalendarJobs:
    """Fail up to `batch_size` jobs still unfinished past their deadline (the sweeper's first task)."""

    batch_size: int
    correlation_id: str


@dataclass(frozen=True)
class ForgetFinishedCalendarJobs:
    """Delete up to `batch_size` jobs finished longer ago than the retention (they hold e-mail addresses)."""

    batch_size: int
    correlation_id: str


@dataclass(frozen=True)
class ForgetOldIdempotencyKeys:
    """Delete up to `batch_size` Idempotency-Keys older than their retention."""

    batch_size: int
    correlation_id: str


Command = (
    CreateTodo
    | UpdateTodo
    | DeleteTodo
    | RequestCalendar
    | FailOverdueCalendarJobs
    | ForgetFinishedCalendarJobs
    | ForgetOldIdempotencyKeys
)
