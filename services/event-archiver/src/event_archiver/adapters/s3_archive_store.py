"""Archive objects in S3: one PutObject each (a put is atomic, so an object is whole or absent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskoverflow_shared.event_archive import ARCHIVE_CONTENT_TYPE


@dataclass
class S3ArchiveStore:
    s3: Any
    bucket: str

    def put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=ARCHIVE_CONTENT_TYPE)
