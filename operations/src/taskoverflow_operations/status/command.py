"""`taskoverflow status`: the queues, the outbox, the calendar jobs and the event rates on one screen.

Per queue of the topology and its DLQ: messages visible, in flight and delayed, and the age of
the oldest (from CloudWatch where SQS publishes it; offline, DLQs are peeked at — see
`--peek-age`). The todo-api's outbox (DATABASE_URL): rows pending per lane, parked, and the lag
(the oldest pending row's age). Calendar jobs requested in the last hour by state, with the most
frequent failure reasons. Events per type in the last minutes, from the event archive.

A part that cannot be read (the database down, S3 refusing) is shown as unavailable with the
reason; the command then exits 1 (0 when everything was read). `--json` prints the same reading
as one JSON object; `--watch` redraws the screen in place until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.live import Live
from sqlalchemy.exc import SQLAlchemyError

from taskoverflow_operations.arguments import positive_float, positive_int
from taskoverflow_operations.status.event_rates import read_event_rates
from taskoverflow_operations.status.queue_depths import QueueDepthReader
from taskoverflow_operations.status.readings import SystemStatus, Unavailable, as_json
from taskoverflow_operations.status.screen import render
from taskoverflow_operations.status.todo_database import (
    TodoDatabaseReader,
    database_url_from_environment,
    job_deadline_from_environment,
)
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import ArchiveFormatError
from taskoverflow_shared.topology import Topology, load_topology

JOBS_WINDOW = timedelta(hours=1)
DEFAULT_RATE_WINDOW_MINUTES = 5
DEFAULT_WATCH_SECONDS = 5.0
# What "cannot be reached" looks like from here: AWS or the database refusing or absent, an
# archive object this version cannot read. Anything else is a bug and should say so loudly.
UNREACHABLE = (BotoCoreError, ClientError, SQLAlchemyError, OSError, ArchiveFormatError)

T = TypeVar("T")


@dataclass
class StatusReader:
    """Takes one look at the whole system; the parts are read side by side."""

    topology: Topology
    queues: QueueDepthReader
    database: TodoDatabaseReader | Unavailable
    s3: Any
    rate_window: timedelta
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    def read(self) -> SystemStatus:
        now = self.now()
        with ThreadPoolExecutor(max_workers=4) as pool:
            queues = pool.submit(_guarded, self.queues.read)
            outbox = pool.submit(_guarded, lambda: self._from_database(lambda db: db.outbox(now)))
            jobs = pool.submit(_guarded, lambda: self._from_database(lambda db: db.calendar_jobs(now, JOBS_WINDOW)))
            rates = pool.submit(_guarded, lambda: read_event_rates(self.s3, self.topology, now, self.rate_window))
        return SystemStatus(
            taken_at=now,
            delivery=self.topology.delivery,
            queues=queues.result(),
            outbox=outbox.result(),
            calendar_jobs=jobs.result(),
            event_rates=rates.result(),
        )

    def _from_database(self, read: Callable[[TodoDatabaseReader], T]) -> T | Unavailable:
        if isinstance(self.database, Unavailable):
            return self.database
        return _guarded(lambda: read(self.database), where=self.database.label)


def _guarded(read: Callable[[], T], where: str | None = None) -> T | Unavailable:
    try:
        return read()
    except UNREACHABLE as error:
        unavailable = Unavailable.because(error)
        return Unavailable(f"{where}: {unavailable.reason}") if where else unavailable


def status_reader(*, peek_service_queues: bool = False, rate_window: timedelta | None = None) -> StatusReader:
    """A reader for the system the environment names (AWS_ENDPOINT_URL, DATABASE_URL, TASKOVERFLOW_DELIVERY)."""
    topology = load_topology()
    # Short timeouts: a status screen must answer even while a part is down.
    sqs, cloudwatch, s3 = (make_client(name, read_timeout=10) for name in ("sqs", "cloudwatch", "s3"))
    database: TodoDatabaseReader | Unavailable
    try:
        database = TodoDatabaseReader.for_url(database_url_from_environment(), job_deadline_from_environment())
    except (SQLAlchemyError, ValueError, ImportError) as error:
        database = Unavailable.because(error)
    return StatusReader(
        topology=topology,
        queues=QueueDepthReader(sqs, cloudwatch, topology, peek_service_queues=peek_service_queues),
        database=database,
        s3=s3,
        rate_window=rate_window or timedelta(minutes=DEFAULT_RATE_WINDOW_MINUTES),
    )


def status_json(status: SystemStatus) -> str:
    return json.dumps(as_json(status), indent=2)


# ---- command line -------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "status",
        help="queues, DLQs, outbox, calendar jobs and event rates on one screen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="print the reading as one JSON object, for scripts")
    shown.add_argument("--watch", action="store_true", help="redraw the screen in place until Ctrl-C")
    parser.add_argument(
        "--interval",
        type=positive_float,
        default=DEFAULT_WATCH_SECONDS,
        metavar="SECONDS",
        help=f"seconds between redraws with --watch (default {DEFAULT_WATCH_SECONDS:g})",
    )
    parser.add_argument(
        "--rate-window",
        type=positive_int,
        default=DEFAULT_RATE_WINDOW_MINUTES,
        metavar="MINUTES",
        help=f"count events of the last MINUTES in the archive (default {DEFAULT_RATE_WINDOW_MINUTES})",
    )
    parser.add_argument(
        "--peek-age",
        action="store_true",
        help="where CloudWatch has no age (the emulators), peek at the service queues too; each peek "
        "counts as one receive towards maxReceiveCount, so it is refused with --watch",
    )
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    if args.peek_age and args.watch:
        print("--peek-age with --watch would receive every message once per redraw: refused", file=sys.stderr)
        return 2
    reader = status_reader(peek_service_queues=args.peek_age, rate_window=timedelta(minutes=args.rate_window))
    if args.watch:
        return _watch(reader, args.interval)
    status = reader.read()
    if args.json:
        print(status_json(status))
    else:
        _console().print(render(status))
    return 1 if status.unavailable_parts else 0


def _console() -> Console:
    console = Console()
    # Piped or captured, rich assumes 80 columns; the queue names alone need more.
    return console if console.is_terminal else Console(width=120)


def _watch(reader: StatusReader, interval: float) -> int:
    console = _console()
    try:
        with Live(render(reader.read()), console=console, auto_refresh=False, screen=console.is_terminal) as live:
            while True:
                time.sleep(interval)
                live.update(render(reader.read()), refresh=True)
    except KeyboardInterrupt:
        return 0
