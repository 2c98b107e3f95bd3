"""Completes a CalendarRequested event at publish time, off the request path.

POST /todos/ical only records the job and a bare event (O(1) whatever the number of todos).
The relay calls `complete` just before publishing: it reads the todos once, inlines them when
small, or stores them as an NDJSON snapshot in S3 and sends the reference (claim check), so no
message ever approaches SQS's 256 KiB limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from taskoverflow_shared.events import CalendarRequested, Envelope
from todo_api.adapters.calendar_storage import CalendarFiles
from todo_api.adapters.orm import todos
from todo_api.domain.model import todo_state


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
        # Plain rows, not ORM objects: a 100k-todo snapshot should not build 100k identity-mapped objects.
        states = [todo_state(row) for row in session.execute(snapshot_query(owner))]
        lines = [json.dumps(state.model_dump(), separators=(",", ":")) for state in states]
        snapshot_bytes = sum(len(line) + 1 for line in lines)
        if snapshot_bytes <= self.inline_max_bytes:
            data = CalendarRequested(
                job_id=job_id, todo_count=len(states), todos=states, notify_email=notify_email, owner=owner
            )
        else:
            body = ("\n".join(lines) + "\n").encode()
            data = CalendarRequested(
                job_id=job_id,
                todo_count=len(states),
                snapshot=self.files.put_snapshot(job_id, body),
                notify_email=notify_email,
                owner=owner,
            )
        return envelope.model_copy(update={"data": data.model_dump(mode="json")})
