"""The todo-api answers an owner whose feed the worker has not written yet with the very bytes
(and so the very ETag) the ical-feed-worker renders for an owner without todos."""

import hashlib

from ical_worker.domain import CalendarRenderer, FeedState
from todo_api.adapters.calendar_feeds import EMPTY_FEED, EMPTY_FEED_ETAG


def test_the_apis_empty_feed_is_what_the_worker_renders_for_no_todos():
    rendered = FeedState().render(CalendarRenderer()).body

    assert rendered == EMPTY_FEED
    # S3's ETag of a single PUT is the MD5 of its body: a client's copy stays valid either way.
    assert f'"{hashlib.md5(rendered).hexdigest()}"' == EMPTY_FEED_ETAG
