"""`taskoverflow archive forget`: erase one subject's events from the event archive in S3.

The archive keeps every event for ever, and events carry personal data (a todo's text, a
requester's e-mail address). To honour an erasure request, every archive object that holds an
event of the subject is rewritten without it (the other lines byte for byte), and an object left
empty is deleted. A dry run by default: it reads the whole archive and says how many events and
objects it would change; `--yes` changes them.

Safe to run again, and to interrupt: a rewritten object gets the name the archive's own rule
gives its new content, is stored before the old one is deleted, and a run finds nothing left to
do once the subject's events are gone. Events the event-archiver stores while this runs are not
seen by it: run it once more after the subject stopped producing events (e.g. the todo deleted).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import structlog

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import ARCHIVE_CONTENT_TYPE, ObjectRewrite, archive_object_keys, object_without
from taskoverflow_shared.events import Envelope
from taskoverflow_shared.topology import load_topology

log = structlog.get_logger("taskoverflow.operations.archive_forget")


@dataclass(frozen=True)
class Erasure:
    """Whose events to erase: any event about one of `subjects`.

    Once events carry their owner (issue 12), an `owners` set joins `subjects` here and in
    `covers`, and `--owner` in the command line; the rewriting does not change.
    """

    subjects: frozenset[str]

    def covers(self, envelope: Envelope) -> bool:
        return envelope.subject is not None and envelope.subject in self.subjects


@dataclass
class ForgetReport:
    dry_run: bool
    objects_read: int = 0
    events_removed: int = 0
    objects_rewritten: int = 0
    objects_deleted: int = 0
    changes: list[ObjectRewrite] = field(default_factory=list)

    def summary(self) -> str:
        if self.dry_run:
            return (
                f"dry run: would remove {self.events_removed} events, rewriting {self.objects_rewritten} and "
                f"deleting {self.objects_deleted} of {self.objects_read} archive objects; pass --yes to do it"
            )
        return (
            f"removed {self.events_removed} events: rewrote {self.objects_rewritten} and deleted "
            f"{self.objects_deleted} of {self.objects_read} archive objects"
        )


def forget(s3: Any, bucket: str, prefix: str, erasure: Erasure, *, dry_run: bool = True) -> ForgetReport:
    """Rewrite (or, in a dry run, only count) every archive object holding an event `erasure` covers."""
    report = ForgetReport(dry_run=dry_run)
    for key in archive_object_keys(s3, bucket, prefix):
        report.objects_read += 1
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        rewrite = object_without(key, body, erasure.covers)
        if rewrite is None:
            continue
        report.events_removed += rewrite.removed
        if rewrite.key is None:
            report.objects_deleted += 1
        else:
            report.objects_rewritten += 1
        report.changes.append(rewrite)
        if not dry_run:
            _apply(s3, bucket, rewrite)
        log.info(
            "archive_object_would_change" if dry_run else "archive_object_changed",
            key=key,
            new_key=rewrite.key,
            events_removed=rewrite.removed,
            events_kept=rewrite.kept,
        )
    return report


def _apply(s3: Any, bucket: str, rewrite: ObjectRewrite) -> None:
    # Put before delete: interrupted in between, the archive holds the kept events twice (which
    # readers skip, as any duplicate), never the erased ones alone nor nothing.
    if rewrite.key is not None:
        s3.put_object(Bucket=bucket, Key=rewrite.key, Body=rewrite.body, ContentType=ARCHIVE_CONTENT_TYPE)
    s3.delete_object(Bucket=bucket, Key=rewrite.old_key)


# ---- command line -------------------------------------------------------------------------


def register(actions: argparse._SubParsersAction) -> None:
    forgetting = actions.add_parser(
        "forget",
        help="erase one subject's events from the archive (a dry run unless --yes)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    forgetting.add_argument(
        "--subject",
        dest="subjects",
        nargs="+",
        action="extend",
        required=True,
        metavar="SUBJECT",
        help="erase every event about these subjects, e.g. todos/7 or calendars/<job id>",
    )
    forgetting.add_argument("--yes", action="store_true", help="rewrite the archive (default: only count)")
    forgetting.set_defaults(run=_run_forget)


def _run_forget(args: argparse.Namespace) -> int:
    topology = load_topology()
    erasure = Erasure(subjects=frozenset(args.subjects))
    report = forget(
        make_client("s3"), topology.bucket_name, topology.event_archive_prefix, erasure, dry_run=not args.yes
    )
    print(report.summary())
    return 0
