"""The live feeds in S3: a conditional PutObject guards each owner's state against lost updates.

S3 (and LocalStack and moto alike) honours If-Match on PutObject: the write succeeds only while
the object still has the ETag that was read, and If-None-Match: * only while there is none. A
second writer of the same owner therefore gets 412 instead of silently overwriting an update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ical_worker.domain import FeedConflict
from ical_worker.ports import CALENDAR_CONTENT_TYPE, StoredState

STATE_CONTENT_TYPE = "application/json"
# 412: the ETag moved on (or the object appeared). 409: S3 saw two conditional writes of one
# key at once. NoSuchKey: the object read was deleted in between (a rebuild wipes the feeds).
_CONFLICTS = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"}


@dataclass
class S3FeedStore:
    s3: Any
    bucket: str

    def read_state(self, key: str) -> StoredState | None:
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _code(error) == "NoSuchKey":
                return None
            raise
        return StoredState(body=response["Body"].read(), tag=response["ETag"])

    def put_state(self, key: str, body: bytes, expected_tag: str | None) -> None:
        condition = {"IfNoneMatch": "*"} if expected_tag is None else {"IfMatch": expected_tag}
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=STATE_CONTENT_TYPE, **condition)
        except ClientError as error:
            if _code(error) in _CONFLICTS:
                raise FeedConflict(f"s3://{self.bucket}/{key} changed since it was read") from error
            raise

    def put_calendar(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=CALENDAR_CONTENT_TYPE)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
