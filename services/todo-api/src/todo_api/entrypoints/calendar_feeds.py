"""The live calendar feed routes: the caller's feed address, its rotation, and the feed itself.

`GET /api/v1/calendar/feeds/<token>.ics` is public: a calendar app re-reading a subscription
sends no Authorization header, so the token in the URL is the credential (see
domain/feed_tokens.py). The feed is the object the ical-feed-worker keeps in S3, served with
its ETag so an unchanged feed answers 304.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, g, jsonify, request

from todo_api.domain.feed_tokens import looks_like_a_token, new_feed_token, token_digest
from todo_api.domain.model import NotFound
from todo_api.entrypoints.app_context import absolute_url, todo_api
from todo_api.entrypoints.openapi import Operation, Reply, documented
from todo_api.entrypoints.response_bodies import CalendarFeed

FEED_PATH = "/api/v1/calendar/feed"
FEEDS_PREFIX = "/api/v1/calendar/feeds/"
calendar_feeds = Blueprint("calendar_feeds", __name__)
# Calendar apps poll every few minutes whatever they are told; a minute of private caching spares
# S3 the clients that poll more often, and keeps a change visible within the feed's refresh.
FEED_CACHE_CONTROL = "private, max-age=60"
CALENDAR_MEDIA_TYPE = "text/calendar; charset=utf-8"

_FEED_ADDRESS = Reply("The feed's address, shown when its token is issued.", CalendarFeed)
_ETAG_HEADER = {
    "required": True,
    "description": "The feed's entity tag, for If-None-Match.",
    "schema": {"type": "string"},
}
_FEED_FILE = Reply(
    "The calendar: one VEVENT per open todo with a deadline, SEQUENCE its version.",
    {"type": "string"},
    media_type="text/calendar",
    headers={
        "ETag": _ETAG_HEADER,
        "Cache-Control": {"required": True, "schema": {"type": "string"}},
        "Last-Modified": {"required": True, "schema": {"type": "string"}},
    },
)
_NOT_MODIFIED = Reply("The copy named by If-None-Match is current.", headers={"ETag": _ETAG_HEADER})


@calendar_feeds.get(FEED_PATH)
@documented(
    Operation(
        "Your calendar feed's address",
        "calendar",
        {200: _FEED_ADDRESS},
        description="Issues the feed's token on first use and answers its URLs. Only the token's SHA-256 is "
        "kept, so later calls answer null URLs: rotate to get a new address. Without authentication every "
        "caller shares one feed.",
    )
)
def calendar_feed():
    tokens = todo_api().feed_tokens
    token, now = new_feed_token(), datetime.now(UTC)
    if tokens.issue_first(g.owner, token_digest(token), now):
        return jsonify(_addresses(token, now))
    issued_at = tokens.issued_at(g.owner) or now
    return jsonify(CalendarFeed(feed_url=None, webcal_url=None, issued_at=issued_at).model_dump(mode="json"))


@calendar_feeds.post(f"{FEED_PATH}/rotate")
@documented(
    Operation(
        "A new calendar feed address",
        "calendar",
        {200: Reply("The new address; the previous one answers 404 from now on.", CalendarFeed)},
    )
)
def rotate_calendar_feed():
    token, now = new_feed_token(), datetime.now(UTC)
    todo_api().feed_tokens.replace(g.owner, token_digest(token), now)
    return jsonify(_addresses(token, now))


@calendar_feeds.get(f"{FEEDS_PREFIX}<token>.ics")
@documented(
    Operation(
        "A calendar feed (subscribe to it)",
        "calendar",
        {200: _FEED_FILE, 304: _NOT_MODIFIED, 404: "NotFound"},
        description="Needs no Authorization header: the token in the path is the credential. Send "
        "If-None-Match with the ETag of the copy you have to get 304 while it is current. An unknown or "
        "rotated token answers 404.",
    )
)
def calendar_feed_file(token: str):
    api = todo_api()
    owner = api.feed_tokens.owner_of(token_digest(token)) if looks_like_a_token(token) else None
    if owner is None:
        raise NotFound("no such calendar feed")
    feed = api.calendar_feeds.read(owner.owner, request.headers.get("If-None-Match"), owner.issued_at)
    response = Response(status=304) if feed.body is None else Response(feed.body, mimetype=CALENDAR_MEDIA_TYPE)
    if feed.body is not None:
        response.headers["Content-Type"] = CALENDAR_MEDIA_TYPE
    response.headers["ETag"] = feed.etag
    response.headers["Cache-Control"] = FEED_CACHE_CONTROL
    response.last_modified = feed.last_modified
    return response


def _addresses(token: str, issued_at: datetime) -> dict[str, object]:
    feed_url = absolute_url(f"{FEEDS_PREFIX}{token}.ics")
    webcal_url = "webcal://" + feed_url.split("://", 1)[1]
    return CalendarFeed(feed_url=feed_url, webcal_url=webcal_url, issued_at=issued_at).model_dump(mode="json")
