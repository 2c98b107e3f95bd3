"""Tables: todos, calendar jobs, the outbox that makes every change an event, Idempotency-Keys, feed tokens.

The domain's `Todo` and `CalendarJob` are mapped onto their tables (imperative mapping, as in
cosmicpython), so a todo has no row class of its own: the entity is what the session loads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from todo_api.domain.model import CalendarJob, Todo

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


metadata = Base.metadata

todos = Table(
    "todos",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("title", String(80), nullable=False),
    Column("description", String(120)),
    Column("completed", Boolean, nullable=False),
    Column("deadline_at", DateTime(timezone=False)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    # The creator's token `sub`; NULL for a todo created without authentication (migration 0006).
    Column("owner", String(255)),
    # A user's list, in id order (migration 0006).
    Index("ix_todos_owner_id", "owner", "id"),
    # SQLite would otherwise reuse the id of a deleted newest todo (migration 0003 says why).
    sqlite_autoincrement=True,
)

calendar_jobs = Table(
    "calendar_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("error", Text),
    Column("result_bucket", String(255)),
    Column("result_key", String(1024)),
    Column("result_size_bytes", BigInteger),
    Column("result_sha256", String(64)),
    Column("event_count", Integer),
    Column("notify_email", String(254)),
    Column("owner", String(255)),
    # The sweeper's two questions (migration 0005): which jobs are overdue, which have expired.
    Index(
        "ix_calendar_jobs_unfinished",
        "requested_at",
        postgresql_where=text("status NOT IN ('SUCCESS', 'FAILURE')"),
        sqlite_where=text("status NOT IN ('SUCCESS', 'FAILURE')"),
    ),
    Index("ix_calendar_jobs_finished_at", "finished_at"),
)


# A request sent with an Idempotency-Key, stored in the transaction of the change it made, with the
# data of the event that change caused: a repeat of the request is answered from it (migration 0007).
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # '' for requests without authentication: a primary key cannot hold NULL.
    Column("owner", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("answer", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("ix_idempotency_keys_received_at", "received_at"),
)


# Per owner, the SHA-256 of their calendar feed's token (never the token): migration 0008.
calendar_feed_tokens = Table(
    "calendar_feed_tokens",
    metadata,
    # '' when authentication is off: one shared feed, and a primary key cannot hold NULL.
    Column("owner", String(255), primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)


_PENDING = text("published_at IS NULL AND parked_at IS NULL")
_PUBLISHED = text("published_at IS NOT NULL")
_PARKED = text("parked_at IS NOT NULL")


class OutboxRow(Base):
    """An event on its way to the topic; written in the same transaction as the change.

    Its state (eShop's IntegrationEventLogEntry has the same three): pending (neither time set),
    published (`published_at`), or parked (`parked_at`, with `parked_reason`): the relay gave up
    on it, so it no longer holds anything up, until an operator retries it.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # Only pending rows, in the order the relay claims them: lane, then id. Partial, so it
        # stays as small as the backlog while published rows pile up.
        Index("ix_outbox_pending", "lane", "id", postgresql_where=_PENDING, sqlite_where=_PENDING),
        # Retention deletes published rows by age; `outbox list --parked` and status count parked ones.
        Index("ix_outbox_published_at", "published_at", postgresql_where=_PUBLISHED, sqlite_where=_PUBLISHED),
        Index("ix_outbox_parked", "id", postgresql_where=_PARKED, sqlite_where=_PARKED),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(64))
    lane: Mapped[int] = mapped_column(SmallInteger, server_default=text("1"))  # outbox.Lane
    envelope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The row's own failures (not the broker's outages, which say nothing about a row).
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set once `envelope` holds the completed event (see calendar_requests.py): never completed twice.
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    parked_reason: Mapped[str | None] = mapped_column(Text)


def start_mappers() -> None:
    """Map the entities onto their tables, once per process (bootstrap calls it)."""
    if getattr(Todo, "__mapper__", None) is not None:
        return
    Base.registry.map_imperatively(Todo, todos)
    Base.registry.map_imperatively(CalendarJob, calendar_jobs)
    # The session builds loaded entities without __init__: give them their empty event lists.
    event.listen(Todo, "load", _todo_loaded)
    event.listen(CalendarJob, "load", _job_loaded)


def _todo_loaded(todo: Todo, _context: Any) -> None:
    todo.pending_actions = []


def _job_loaded(job: CalendarJob, _context: Any) -> None:
    job.pending_events = []
