"""`taskoverflow archive forget`: erase one subject's, or one user's, events from the event archive.

The archive keeps every event for ever, and events carry personal data (a todo's text, a
requester's e-mail address). To honour an erasure request, every archive object that holds an
event of the subject is rewritten without it (the other lines byte for byte), and an object left
empty is deleted. In a versioned bucket a delete only hides an object, so every old version that
still holds such an event is deleted too, version by version. A dry run by default: it reads the
whole archive and says how many events, objects and old versions it would change; `--yes`
changes them.

`--owner` erases a user (an identity token's `sub`): every event about a subject that one of the
user's events names (their todos, their calendar jobs), owned or not: a CalendarReady carries no
owner, but shares its job's subject with the CalendarRequested that does. Events from before the
owner was recorded (TodoChanged and CalendarRequested 1.0) are found only with `--subject`.

Safe to run again, and to interrupt: a rewritten object gets the name the archive's own rule
gives its new content, is stored before the old one is deleted, and a run finds nothing left to
do once the subject's events are gone. Events the event-archiver stores while this runs are not
seen by it: run it once more after the subject stopped producing events (e.g. the todo deleted).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import (
    ARCHIVE_CONTENT_TYPE,
    ObjectRewrite,
    archive_object_keys,
    archived_events,
    object_without,
)
from taskoverflow_shared.events import Envelope
from taskoverflow_shared.topology import load_topology

log = structlog.get_logger("taskoverflow.operations.archive_forget")


@dataclass(frozen=True)
class Erasure:
    """Whose events to erase: any event about one of `subjects`, or owned by one of `owners`."""

    subjects: frozenset[str] = frozenset()
    owners: frozenset[str] = frozenset()

    def covers(self, envelope: Envelope) -> bool:
        if envelope.subject is not None and envelope.subject in self.subjects:
            return True
        return bool(self.owners) and envelope.data.get("owner") in self.owners

    def with_subjects(self, subjects: frozenset[str]) -> Erasure:
        return Erasure(subjects=self.subjects | subjects, owners=self.owners)


@dataclass
class ForgetReport:
    dry_run: bool
    objects_read: int = 0
    events_removed: int = 0
    objects_rewritten: int = 0
    objects_deleted: int = 0
    old_versions_deleted: int = 0
    changes: list[ObjectRewrite] = field(default_factory=list)

    def summary(self) -> str:
        if self.dry_run:
            return (
                f"dry run: would remove {self.events_removed} events, rewriting {self.objects_rewritten} and "
                f"deleting {self.objects_deleted} of {self.objects_read} archive objects, and deleting "
                f"{self.old_versions_deleted} old versions holding them; pass --yes to do it"
            )
        return (
            f"removed {self.events_removed} events: rewrote {self.objects_rewritten} and deleted "
            f"{self.objects_deleted} of {self.objects_read} archive objects, and deleted "
            f"{self.old_versions_deleted} old versions holding them"
        )


def forget(s3: Any, bucket: str, prefix: str, erasure: Erasure, *, dry_run: bool = True) -> ForgetReport:
    """Rewrite (or, in a dry run, only count) every archive object holding an event `erasure`
    covers, then delete every old version that still holds one."""
    if erasure.owners:
        erasure = erasure.with_subjects(_subjects_owned_by(s3, bucket, prefix, erasure.owners))
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
    # After the rewrites, whose deletes turned the current versions into old ones. Old versions
    # left by an earlier, interrupted run are found the same way.
    for key, version_id in _old_versions(s3, bucket, prefix):
        body = s3.get_object(Bucket=bucket, Key=key, VersionId=version_id)["Body"].read()
        if object_without(key, body, erasure.covers) is None:
            continue
        report.old_versions_deleted += 1
        if not dry_run:
            s3.delete_object(Bucket=bucket, Key=key, VersionId=version_id)
        log.info(
            "archive_old_version_would_be_deleted" if dry_run else "archive_old_version_deleted",
            key=key,
            version_id=version_id,
        )
    return report


def _subjects_owned_by(s3: Any, bucket: str, prefix: str, owners: frozenset[str]) -> frozenset[str]:
    return frozenset(
        event.envelope.subject
        for event in archived_events(s3, bucket, prefix)
        if event.envelope.subject is not None and event.envelope.data.get("owner") in owners
    )


def _old_versions(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, str]]:
    """(key, version id) of every version under `prefix` that is not its key's current one. An
    unversioned bucket has none: its objects' one version ("null") is the current one."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            if not version["IsLatest"]:
                yield version["Key"], version["VersionId"]


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
        default=[],
        metavar="SUBJECT",
        help="erase every event about these subjects, e.g. todos/7 or calendars/<job id>",
    )
    forgetting.add_argument(
        "--owner",
        dest="owners",
        nargs="+",
        action="extend",
        default=[],
        metavar="SUB",
        help="erase every event about a subject these users' events name (an identity token's sub)",
    )
    forgetting.add_argument("--yes", action="store_true", help="rewrite the archive (default: only count)")
    forgetting.set_defaults(run=_run_forget)


def _run_forget(args: argparse.Namespace) -> int:
    if not args.subjects and not args.owners:
        print("archive forget: name at least one --subject or --owner", file=sys.stderr)
        return 2
    topology = load_topology()
    erasure = Erasure(subjects=frozenset(args.subjects), owners=frozenset(args.owners))
    report = forget(
        make_client("s3"), topology.bucket_name, topology.event_archive_prefix, erasure, dry_run=not args.yes
    )
    print(report.summary())
    return 0
