"""The live calendar feeds the ical-feed-worker writes to S3, read for their subscribers.

One GetObject per request, conditional on the client's If-None-Match, so an unchanged feed costs
S3 no transfer and the client a 304. An owner whose feed the worker has not written yet gets an
empty calendar.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from taskoverflow_shared.topology import Topology
from todo_api.adapters.calendar_storage import StorageUnavailable

# What the feed worker renders for an owner without todos, so a feed looks the same before and
# after the first one: a calendar that names itself and asks to be refreshed.
EMPTY_FEED = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//TaskOverflow//ical-worker 1.0//EN\r\nCALSCALE:GREGORIAN\r\n"
    b"X-WR-CALNAME:TaskOverflow\r\nREFRESH-INTERVAL;VALUE=DURATION:PT5M\r\nX-PUBLISHED-TTL:PT5M\r\n"
    b"END:VCALENDAR\r\n"
)
EMPTY_FEED_ETAG = f'"{hashlib.md5(EMPTY_FEED, usedforsecurity=False).hexdigest()}"'
_MISSING = {"NoSuchKey", "404"}
# An entity tag as S3 writes them; anything else a client sends is not passed on to S3.
_ENTITY_TAG = re.compile(r'"[!#-~]{1,128}"')
_NOT_MODIFIED = {"304", "NotModified"}


@dataclass(frozen=True)
class FeedObject:
    """A feed as served: `body` None when the client's copy (its ETag) is current."""

    body: bytes | None
    etag: str
    last_modified: datetime


@dataclass
class S3CalendarFeeds:
    s3: Any
    topology: Topology

    def read(self, owner: str | None, if_none_match: str | None, issued_at: datetime) -> FeedObject:
        """`owner`'s feed, or None as body when `if_none_match` names its current ETag.

        `issued_at` (the token's) stands in as the last modification of a feed not yet written.
        Raises StorageUnavailable when S3 cannot answer.
        """
        key = self.topology.feed_keys(owner).calendar
        if if_none_match is not None and _ENTITY_TAG.fullmatch(if_none_match) is None:
            if_none_match = None
        conditions = {"IfNoneMatch": if_none_match} if if_none_match else {}
        try:
            response = self.s3.get_object(Bucket=self.topology.bucket_name, Key=key, **conditions)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _NOT_MODIFIED:
                headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                return FeedObject(None, headers.get("etag", if_none_match or ""), _http_date(headers))
            if code in _MISSING:
                return _empty(if_none_match, issued_at)
            raise StorageUnavailable(str(error)) from error
        except BotoCoreError as error:
            raise StorageUnavailable(str(error)) from error
        return FeedObject(response["Body"].read(), response["ETag"], response["LastModified"])


def _empty(if_none_match: str | None, issued_at: datetime) -> FeedObject:
    body = None if if_none_match == EMPTY_FEED_ETAG else EMPTY_FEED
    return FeedObject(body, EMPTY_FEED_ETAG, issued_at)


def _http_date(headers: dict[str, str]) -> datetime:
    text = headers.get("last-modified")
    return parsedate_to_datetime(text) if text else datetime.now(UTC)
