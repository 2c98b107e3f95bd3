"""`taskoverflow outbox list|retry`: the todo-api's outbox rows the relay has not published.

A row is pending (the relay will publish it), published, or parked: the relay gave up on it
(an event SNS refuses for good, one too large for a message, a stored envelope that fails
validation, or a row that kept failing on its own for OUTBOX_MAX_ATTEMPTS tries) and moved on,
so the rest kept flowing. `list` shows the parked and pending rows with their reasons; `retry`,
once the cause is fixed, makes parked rows pending again, and the running relay publishes them
(the completed envelope it stored, byte for byte, if it had completed one).

Talks to the todo-api's database (DATABASE_URL, as `status` does); the table is reflected, not
imported from the todo-api. `list` reads only; `retry` writes the rows it names and nothing else.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine, MetaData, Table, create_engine, or_, select, update
from sqlalchemy.engine import make_url

from taskoverflow_operations.arguments import positive_int
from taskoverflow_operations.status.todo_database import OUTBOX_LANES, database_url_from_environment, read_only_engine

DEFAULT_LIMIT = 50
_CONNECT_TIMEOUT_SECONDS = 3

log = structlog.get_logger("taskoverflow.operations.outbox")


@dataclass(frozen=True)
class OutboxEntry:
    """One row as `outbox list` shows it."""

    id: int
    event_id: str
    event_type: str
    lane: str
    state: str
    created_at: datetime
    attempts: int
    parked_at: datetime | None
    reason: str | None

    def line(self) -> str:
        shown = (self.reason or "").replace("\n", " ")
        shown = shown if len(shown) <= 100 else shown[:97] + "..."
        return (
            f"{self.id:>8}  {self.state:<7}  {self.event_type:<18}  {self.event_id:<36}  "
            f"{self.created_at.isoformat(timespec='seconds'):<25}  {self.attempts:>3}  {shown}"
        )


def outbox_table(engine: Engine) -> Table:
    with engine.connect() as connection:
        return Table("outbox", MetaData(), autoload_with=connection)


def list_rows(
    engine: Engine, *, parked: bool = True, pending: bool = True, limit: int = DEFAULT_LIMIT
) -> list[OutboxEntry]:
    """Parked and/or pending rows, oldest first."""
    outbox = outbox_table(engine)
    states = []
    if parked:
        states.append(outbox.c.parked_at.is_not(None))
    if pending:
        states.append(outbox.c.parked_at.is_(None))
    query = select(outbox).where(outbox.c.published_at.is_(None), or_(*states)).order_by(outbox.c.id).limit(limit)
    with engine.connect() as connection:
        return [_entry(row) for row in connection.execute(query).mappings()]


def retry(engine: Engine, selectors: Sequence[str] = (), *, all_parked: bool = False) -> list[int]:
    """Make parked rows pending again: those named (row id or event id), or every one. Returns
    the ids of the rows moved; a name that matches no parked row moves nothing."""
    outbox = outbox_table(engine)
    chosen = outbox.c.parked_at.is_not(None)
    if not all_parked:
        row_ids = [int(selector) for selector in selectors if selector.isdigit()]
        chosen = chosen & or_(outbox.c.id.in_(row_ids), outbox.c.event_id.in_(list(selectors)))
    with engine.begin() as connection:
        moved = connection.execute(
            update(outbox)
            .where(chosen)
            # The attempts start again; last_error keeps why it was parked, for whoever looks next.
            .values(parked_at=None, parked_reason=None, attempts=0)
            .returning(outbox.c.id)
        )
        return sorted(row_id for (row_id,) in moved)


def writable_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return create_engine(url, connect_args={"timeout": _CONNECT_TIMEOUT_SECONDS})
    return create_engine(url, connect_args={"connect_timeout": _CONNECT_TIMEOUT_SECONDS})


def _entry(row: Any) -> OutboxEntry:
    parked = row["parked_at"] is not None
    return OutboxEntry(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        lane=OUTBOX_LANES.get(row["lane"], f"lane {row['lane']}"),
        state="parked" if parked else "pending",
        created_at=row["created_at"],
        attempts=row["attempts"],
        parked_at=row["parked_at"],
        reason=row["parked_reason"] if parked else row["last_error"],
    )


# ---- command line -------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    outbox = commands.add_parser(
        "outbox",
        help="list the todo-api's parked and pending outbox rows, or retry parked ones",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = outbox.add_subparsers(dest="outbox_action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="parked and pending rows, oldest first, with their reasons")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--parked", action="store_true", help="only parked rows")
    which.add_argument("--pending", action="store_true", help="only pending rows")
    listing.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N rows (default {DEFAULT_LIMIT})",
    )
    listing.set_defaults(run=_run_list)

    retrying = actions.add_parser("retry", help="make parked rows pending again, once the cause is fixed")
    retrying.add_argument("rows", nargs="*", metavar="ROW", help="a row id or an event id (several allowed)")
    retrying.add_argument("--all-parked", action="store_true", help="every parked row")
    retrying.set_defaults(run=_run_retry)


def _run_list(args: argparse.Namespace) -> int:
    engine = read_only_engine(database_url_from_environment())
    try:
        rows = list_rows(engine, parked=not args.pending, pending=not args.parked, limit=args.limit)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps([asdict(row) for row in rows], default=str, indent=2))
        return 0
    if not rows:
        print("no rows")
        return 0
    heading = f"{'row':>8}  {'state':<7}  {'event type':<18}  {'event id':<36}  {'created':<25}  {'try':>3}"
    print(f"{heading}  reason / last error")
    for row in rows:
        print(row.line())
    return 0


def _run_retry(args: argparse.Namespace) -> int:
    if bool(args.rows) == args.all_parked:
        print("name the rows to retry (row ids or event ids), or pass --all-parked", flush=True)
        return 2
    engine = writable_engine(database_url_from_environment())
    try:
        moved = retry(engine, args.rows, all_parked=args.all_parked)
    finally:
        engine.dispose()
    log.info("outbox_retry", rows=moved)
    print(f"retry: {len(moved)} parked rows are pending again" + (f" ({', '.join(map(str, moved))})" if moved else ""))
    # A named row that was not parked (unknown, pending or published) is worth a non-zero exit.
    return 0 if moved and (args.all_parked or len(moved) >= len(args.rows)) else 1
