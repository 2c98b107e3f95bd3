"""`taskoverflow outbox list|retry` as an operator runs it, on a todo-api database migrated by
the todo-api's own command (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, Table, create_engine, select

from .test_status import BIN, outbox_row, write_rows

REASON = "MessageTooLarge: TodoChanged e-too-large is 300000 bytes"


def taskoverflow_outbox(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "taskoverflow"), "outbox", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def listed(database_url: str, *args: str) -> list[dict]:
    finished = taskoverflow_outbox("list", "--json", *args, database_url=database_url)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


def write_outbox(database_url: str) -> None:
    now = datetime.now(UTC)
    unset = {"published_at": None, "parked_at": None, "parked_reason": None, "attempts": 0, "last_error": None}
    rows = [
        ("TodoChanged", 1, 9, {"event_id": "e-published", "published_at": now}),
        (
            "TodoChanged",
            1,
            8,
            {"event_id": "e-too-large", "parked_at": now, "parked_reason": REASON, "last_error": REASON},
        ),
        ("CalendarRequested", 0, 7, {"event_id": "e-no-bucket", "parked_at": now, "parked_reason": "gave up"}),
        ("TodoChanged", 1, 1, {"event_id": "e-waiting", "attempts": 2, "last_error": "InternalError: "}),
    ]
    # One shape for every row: a multi-row insert takes its columns from the first.
    write_rows(
        database_url,
        "outbox",
        [outbox_row(kind, lane, timedelta(minutes=age)) | unset | values for kind, lane, age, values in rows],
    )


def states(database_url: str) -> dict[str, tuple[bool, int]]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        outbox = Table("outbox", MetaData(), autoload_with=connection)
        found = {
            event_id: (parked_at is not None, attempts)
            for event_id, parked_at, attempts in connection.execute(
                select(outbox.c.event_id, outbox.c.parked_at, outbox.c.attempts)
            )
        }
    engine.dispose()
    return found


def test_list_shows_parked_and_pending_rows_with_their_reasons_never_published_ones(todo_database):
    write_outbox(todo_database)

    every = listed(todo_database)
    parked = listed(todo_database, "--parked")
    pending = listed(todo_database, "--pending")

    assert [(row["event_id"], row["state"]) for row in every] == [
        ("e-too-large", "parked"),
        ("e-no-bucket", "parked"),
        ("e-waiting", "pending"),
    ]
    assert [(row["event_id"], row["lane"], row["reason"]) for row in parked] == [
        ("e-too-large", "bulk", REASON),
        ("e-no-bucket", "interactive", "gave up"),
    ]
    assert [(row["event_id"], row["attempts"], row["reason"]) for row in pending] == [
        ("e-waiting", 2, "InternalError: ")
    ]
    table = taskoverflow_outbox("list", "--parked", database_url=todo_database).stdout
    assert "e-too-large" in table and "MessageTooLarge" in table and "e-waiting" not in table


def test_retry_makes_the_named_parked_rows_pending_again_by_event_id_or_row_id(todo_database):
    write_outbox(todo_database)
    (no_bucket,) = [row["id"] for row in listed(todo_database, "--parked") if row["event_id"] == "e-no-bucket"]

    by_event_id = taskoverflow_outbox("retry", "e-too-large", database_url=todo_database)
    by_row_id = taskoverflow_outbox("retry", str(no_bucket), database_url=todo_database)

    assert (by_event_id.returncode, by_row_id.returncode) == (0, 0)
    assert "1 parked rows are pending again" in by_event_id.stdout
    assert states(todo_database) == {
        "e-published": (False, 0),
        "e-too-large": (False, 0),
        "e-no-bucket": (False, 0),
        "e-waiting": (False, 2),
    }


def test_retry_all_parked_moves_every_parked_row_and_a_name_that_is_not_parked_exits_1(todo_database):
    write_outbox(todo_database)

    not_parked = taskoverflow_outbox("retry", "e-waiting", "e-published", "no-such-event", database_url=todo_database)
    everything = taskoverflow_outbox("retry", "--all-parked", database_url=todo_database)
    nothing_named = taskoverflow_outbox("retry", database_url=todo_database)

    assert not_parked.returncode == 1 and "0 parked rows" in not_parked.stdout
    assert everything.returncode == 0 and "2 parked rows are pending again" in everything.stdout
    assert nothing_named.returncode == 2
    assert listed(todo_database, "--parked") == []
