"""Where the worker reads snapshots and writes calendars: names only, decided by the topology."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ical_worker.domain.errors import BadCalendarData, InvalidSnapshot
from taskoverflow_shared.events import S3ObjectRef
from taskoverflow_shared.topology import calendar_key

# The todo-api issues UUIDs; anything that could turn the key into a path is refused.
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


@dataclass(frozen=True)
class StorageLayout:
    bucket: str
    calendar_prefix: str
    snapshot_prefix: str

    def calendar_key(self, job_id: str) -> str:
        """`<calendar_prefix><job_id>.ics`: one object per job, so a redelivery overwrites, never adds."""
        if _JOB_ID.fullmatch(job_id) is None or ".." in job_id:
            raise BadCalendarData(f"job_id {job_id!r} cannot name a calendar file")
        return calendar_key(self.calendar_prefix, job_id)

    def check_snapshot(self, ref: S3ObjectRef) -> None:
        """Refuse references outside the snapshot prefix: the worker reads snapshots, nothing else.

        On AWS the task role would deny such a read anyway; refusing here makes it a clear
        CalendarFailed instead of retries ending in the DLQ, and holds on emulators too.
        """
        if ref.bucket != self.bucket or not ref.key.startswith(self.snapshot_prefix):
            raise InvalidSnapshot(
                f"snapshot s3://{ref.bucket}/{ref.key} is outside s3://{self.bucket}/{self.snapshot_prefix}"
            )
