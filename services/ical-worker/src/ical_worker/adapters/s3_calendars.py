"""Store finished calendars in S3 with one PutObject (no HeadObject first: overwriting is the idempotency)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ical_worker.ports import CALENDAR_CONTENT_TYPE


@dataclass
class S3CalendarStore:
    s3: Any

    def put(self, bucket: str, key: str, body: bytes) -> None:
        # ContentType travels with the object, so the todo-api can stream it or hand out a
        # presigned URL and browsers still see text/calendar.
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=CALENDAR_CONTENT_TYPE)
