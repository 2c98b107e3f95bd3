"""`taskoverflow archive`: what the event archive holds, chosen by time window, type and subject.

The event-archiver service keeps every event published to the topic in S3, one NDJSON object
per flush under an hour partition of the event's time; a window query reads only its hours.
Each event is listed once (the archive is written at least once), in the order it arrived.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskoverflow_operations import archive_forget
from taskoverflow_operations.arguments import instant, positive_int
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import ArchivedEvent, read_archive
from taskoverflow_shared.events import EVENT_TYPES
from taskoverflow_shared.topology import load_topology


@dataclass(frozen=True)
class Selection:
    """Which archived events: `since` <= event time < `until`, of one of `types`, about one of `subjects`."""

    since: datetime | None = None
    until: datetime | None = None
    types: frozenset[str] | None = None
    subjects: frozenset[str] | None = None


def select(s3: Any, bucket: str, prefix: str, selection: Selection) -> list[ArchivedEvent]:
    """The selected events, each once, in arrival order."""
    subjects = selection.subjects
    archived = read_archive(
        s3,
        bucket,
        prefix,
        since=selection.since,
        until=selection.until,
        types=selection.types,
        # The archive filters on one subject; several are filtered here.
        subject=next(iter(subjects)) if subjects and len(subjects) == 1 else None,
    )
    return [event for event in archived if subjects is None or event.envelope.subject in subjects]


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", type=instant, metavar="ISO", help="events at or after this ISO time (UTC if no offset)"
    )
    parser.add_argument("--until", type=instant, metavar="ISO", help="events before this ISO time (UTC if no offset)")
    parser.add_argument(
        "--type",
        dest="types",
        nargs="+",
        action="extend",
        choices=sorted(EVENT_TYPES),
        metavar="TYPE",
        help=f"one or more of {', '.join(sorted(EVENT_TYPES))} (default: all)",
    )
    parser.add_argument(
        "--subject",
        dest="subjects",
        nargs="+",
        action="extend",
        metavar="SUBJECT",
        help="only events about these subjects, e.g. todos/7 (a todo) or calendars/<job id>",
    )


def selection_from(args: argparse.Namespace) -> Selection:
    if args.since and args.until and args.since >= args.until:
        raise SystemExit("--since must be before --until")
    return Selection(
        since=args.since,
        until=args.until,
        types=frozenset(args.types) if args.types else None,
        subjects=frozenset(args.subjects) if args.subjects else None,
    )


def event_line(archived: ArchivedEvent) -> str:
    envelope = archived.envelope
    return (
        f"{archived.arrived_at.isoformat(timespec='milliseconds')}  {envelope.time.isoformat()}  "
        f"{envelope.type:<17}  {envelope.subject or '-':<12}  {envelope.id}"
    )


# ---- command line -------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction) -> None:
    archive = commands.add_parser(
        "archive",
        help="list archived events by time window, type and subject; erase a subject's events",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = archive.add_subparsers(dest="archive_action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per event (or its envelope with --json), in arrival order")
    add_selection_arguments(listing)
    listing.add_argument("--limit", type=positive_int, metavar="N", help="show at most the N first-arrived")
    listing.add_argument("--json", action="store_true", help="print each envelope as one JSON line")
    listing.set_defaults(run=_run_list)
    archive_forget.register(actions)


def _run_list(args: argparse.Namespace) -> int:
    topology = load_topology()
    selected = select(make_client("s3"), topology.bucket_name, topology.event_archive_prefix, selection_from(args))
    shown = selected[: args.limit] if args.limit else selected
    if not args.json:
        print(f"{'arrived':<29}  {'time':<32}  {'type':<17}  {'subject':<12}  id")
    for archived in shown:
        print(json.dumps(archived.envelope.model_dump(mode="json")) if args.json else event_line(archived))
    if not args.json:
        print(f"{len(shown)} of {len(selected)} archived events in the selection")
    return 0
