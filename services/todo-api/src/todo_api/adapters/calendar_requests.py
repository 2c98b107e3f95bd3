"""Completes a CalendarRequested event at publish time, off the request path.

POST /todos/ical only records the job and a bare event (O(1) whatever the number of todos).
The relay calls the completer just before publishing, once per row (it keeps what it returns,
see outbox.py): it streams the todos once, inlines them when small, or stores them as an NDJSON
snapshot in S3 and sends the reference (claim check), so no message ever approaches SQS's
256 KiB limit.

Memory stays flat whatever the number of todos: rows come from the database in chunks (a
server-side cursor on PostgreSQL), each line goes through the checksum into a temporary file
that spills to disk past SPOOL_MEMORY_BYTES, and S3 reads the upload from that file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from taskoverflow_shared.events import CalendarRequested, Envelope, TodoState
from todo_api.adapters.calendar_storage import CalendarFiles
from todo_api.adapters.orm import todos
from todo_api.domain.model import todo_state

ROWS_PER_FETCH = 1000
SPOOL_MEMORY_BYTES = 1024 * 1024


def snapshot_query(owner: str | None) -> Select[Any]:
    """The todos a calendar holds, in id order: its requester's only (the owner filter lives
    here and nowhere else), or every todo for a job requested without authentication."""
    query = select(todos).order_by(todos.c.id)
    return query if owner is None else query.where(todos.c.owner == owner)


@dataclass
class CalendarRequestCompleter:
    files: CalendarFiles
    inline_max_bytes: int

    def __call__(self, session: Session, envelope: Envelope) -> Envelope:
        job_id = envelope.data["job_id"]
        notify_email = envelope.data.get("notify_email")
        owner = envelope.data.get("owner")
        with SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as snapshot:
            written = _write_snapshot(session, snapshot_query(owner), snapshot, keep_up_to_bytes=self.inline_max_bytes)
            if written.kept is not None:
                data = CalendarRequested(
                    job_id=job_id, todo_count=written.count, todos=written.kept, notify_email=notify_email, owner=owner
                )
            else:
                snapshot.seek(0)
                data = CalendarRequested(
                    job_id=job_id,
                    todo_count=written.count,
                    snapshot=self.files.put_snapshot(snapshot, size_bytes=written.size_bytes, sha256=written.sha256),
                    notify_email=notify_email,
                    owner=owner,
                )
        return envelope.model_copy(update={"data": data.model_dump(mode="json")})


@dataclass
class _Written:
    count: int
    size_bytes: int
    sha256: str
    # The todos themselves while the snapshot is small enough to travel inline; None past that.
    kept: list[TodoState] | None


def _write_snapshot(session: Session, query: Select[Any], out: IO[bytes], *, keep_up_to_bytes: int) -> _Written:
    """The todos of `query` (`snapshot_query`), one NDJSON line each, with their count, size
    and SHA-256; the todos are kept as well (no parsing the lines back) up to `keep_up_to_bytes`."""
    digest = hashlib.sha256()
    count = size = 0
    kept: list[TodoState] | None = []
    # Plain rows, not ORM objects, fetched in chunks: a 100k-todo snapshot never holds 100k of anything.
    rows = session.execute(query.execution_options(yield_per=ROWS_PER_FETCH))
    for row in rows:
        state = todo_state(row)
        line = state.model_dump_json().encode() + b"\n"
        digest.update(line)
        out.write(line)
        count += 1
        size += len(line)
        if kept is not None:
            if size > keep_up_to_bytes:
                kept = None
            else:
                kept.append(state)
    return _Written(count, size, digest.hexdigest(), kept)
