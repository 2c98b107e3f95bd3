"""What the API answers besides todos (a todo is `TodoState`): each model documents its body."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from todo_api.domain.model import JobStatus

# Items serialised into one chunk of a streamed array: few writes, yet little held at once.
ITEMS_PER_CHUNK = 500


def json_array_chunks(items: Iterable[Any], dumps: Callable[[Any], str]) -> Iterator[str]:
    """A JSON array written as `items` are read, for a streamed response: the whole list is
    never in memory, whatever its length."""
    items = iter(items)
    separator = ""
    yield "["
    while chunk := list(islice(items, ITEMS_PER_CHUNK)):
        yield separator + ",".join(dumps(item) for item in chunk)
        separator = ","
    yield "]\n"


# additionalProperties: false: clients may rely on getting nothing else.
_CLOSED = ConfigDict(extra="forbid")


class CalendarJobAccepted(BaseModel):
    model_config = _CLOSED
    task_id: str
    task_url: str = Field(description="Absolute URL of the job's status.")


class CalendarJobRunningOrDone(BaseModel):
    model_config = _CLOSED
    task_id: str
    task_status: Literal[JobStatus.PENDING, JobStatus.STARTED, JobStatus.SUCCESS]
    result_url: str = Field(description="Absolute URL of the calendar; 404 until the job succeeds.")


class CalendarJobFailed(BaseModel):
    model_config = _CLOSED
    task_id: str
    task_status: Literal[JobStatus.FAILURE]
    result_url: str
    error: str = Field(description="Why the job failed, e.g. it was not finished within its deadline.")


CalendarJobStatus = Annotated[CalendarJobRunningOrDone | CalendarJobFailed, Field(discriminator="task_status")]


class Health(BaseModel):
    model_config = _CLOSED
    status: Literal["ok"]
    database: Literal["ok"]
    outbox_lag_seconds: float = Field(ge=0, description="Age of the oldest event not yet published.")


class Error(BaseModel):
    """Every 4xx: what the client should fix."""

    model_config = _CLOSED
    error: str


class AuthConfig(BaseModel):
    """How the web page signs in: `enabled` false when the API runs without authentication."""

    model_config = _CLOSED
    enabled: bool
    issuer: str | None = None
    client_id: str | None = Field(None, description="The OAuth client the page signs in as (public, PKCE).")
    scope: str | None = None
    authorization_endpoint: str | None = Field(None, description="From the issuer's OIDC discovery document.")
    token_endpoint: str | None = None


class CalendarFeed(BaseModel):
    """The caller's live calendar feed. Its URLs carry the token, which the API keeps only as a
    digest: they are shown when the token is issued (the first request, each rotation), null after."""

    model_config = _CLOSED
    feed_url: str | None = Field(description="HTTPS URL of the feed (the token is its credential), or null.")
    webcal_url: str | None = Field(description="The same feed as webcal://, which calendar apps open to subscribe.")
    issued_at: datetime = Field(description="When the current token was issued.")
