"""S3 for calendars: todo snapshots out (claim check), finished .ics files in (streamed)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from taskoverflow_shared.events import S3ObjectRef
from todo_api.domain.model import NotFound

STREAM_CHUNK_BYTES = 64 * 1024
_MISSING = {"NoSuchKey", "404", "NoSuchBucket"}


class CalendarExpired(NotFound):
    """The job finished, but its calendar is no longer stored (the lifecycle rule expired it)."""


class StorageUnavailable(Exception):
    """S3 could not be reached or refused for a reason of its own; worth trying again later."""


class CalendarFiles(Protocol):
    """Port: where todo snapshots are stored and finished calendars are read."""

    def put_snapshot(self, body: IO[bytes], *, size_bytes: int, sha256: str) -> S3ObjectRef:
        """Store a todo snapshot under a key named by its content (`sha256`): storing it again,
        from any relay, can only write the same bytes, so a reference already sent stays true."""
        ...

    def open_calendar(self, bucket: str, key: str) -> Iterator[bytes]: ...


@dataclass
class S3CalendarFiles:
    s3: Any
    bucket: str
    snapshot_prefix: str

    def put_snapshot(self, body: IO[bytes], *, size_bytes: int, sha256: str) -> S3ObjectRef:
        key = f"{self.snapshot_prefix}{sha256}.ndjson"
        # One PUT streamed from the file (up to 5 GB): the body is never read into memory whole.
        self.s3.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentLength=size_bytes, ContentType="application/x-ndjson"
        )
        return S3ObjectRef(bucket=self.bucket, key=key, size_bytes=size_bytes, sha256=sha256)

    def open_calendar(self, bucket: str, key: str) -> Iterator[bytes]:
        """Chunks of the stored calendar. The GET happens now, so a missing object raises
        CalendarExpired here, and S3 being down StorageUnavailable, before any byte is sent."""
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise CalendarExpired("the calendar has expired; request a new one") from error
            raise StorageUnavailable(str(error)) from error
        except BotoCoreError as error:
            raise StorageUnavailable(str(error)) from error
        return _closing_chunks(body)


def _closing_chunks(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(STREAM_CHUNK_BYTES)
    finally:
        body.close()
