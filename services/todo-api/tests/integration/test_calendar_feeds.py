"""The live calendar feed routes against a real database and S3 on moto: address, rotation, conditional GETs."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.topology import load_topology
from todo_api.adapters.orm import calendar_feed_tokens

FEED = "/api/v1/calendar/feed"


@pytest.fixture
def feeds_bucket(topology_addresses):
    return topology_addresses.bucket_name


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_the_first_call_issues_the_address_and_only_its_digest_is_kept(client, todo_api, feeds_bucket):
    issued = client.get(FEED)

    assert issued.status_code == 200
    feed_url = issued.json["feed_url"]
    assert feed_url.startswith("http://localhost/api/v1/calendar/feeds/") and feed_url.endswith(".ics")
    assert issued.json["webcal_url"] == "webcal://" + feed_url.removeprefix("http://")
    token = path_of(feed_url).rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 22  # at least 128 bits of URL-safe base64
    with todo_api.engine.connect() as connection:
        rows = connection.execute(select(calendar_feed_tokens)).all()
    assert [(row.owner, row.token_sha256) for row in rows] == [("", hashlib.sha256(token.encode()).hexdigest())]
    again = client.get(FEED)
    assert again.status_code == 200
    assert (again.json["feed_url"], again.json["webcal_url"]) == (None, None)


def test_a_feed_not_written_yet_is_an_empty_calendar_and_a_current_copy_answers_304(client, feeds_bucket):
    feed_path = path_of(client.get(FEED).json["feed_url"])

    first = client.get(feed_path)

    assert first.status_code == 200
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert first.data.startswith(b"BEGIN:VCALENDAR\r\n") and b"BEGIN:VEVENT" not in first.data
    assert first.headers["Cache-Control"] == "private, max-age=60"
    assert first.headers["Last-Modified"]
    unchanged = client.get(feed_path, headers={"If-None-Match": first.headers["ETag"]})
    assert unchanged.status_code == 304
    assert unchanged.headers["ETag"] == first.headers["ETag"]


def test_the_feed_is_the_object_the_worker_wrote_with_its_etag(client, feeds_bucket):
    feed_path = path_of(client.get(FEED).json["feed_url"])
    s3, topology = make_client("s3"), load_topology()
    body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    stored = s3.put_object(Bucket=feeds_bucket, Key=topology.feed_keys(None).calendar, Body=body)

    served = client.get(feed_path)

    assert served.status_code == 200
    assert served.data == body
    assert served.headers["ETag"] == stored["ETag"]
    assert client.get(feed_path, headers={"If-None-Match": stored["ETag"]}).status_code == 304
    assert client.get(feed_path, headers={"If-None-Match": '"stale"'}).data == body


def test_rotating_gives_a_new_address_and_the_old_one_answers_404(client, feeds_bucket):
    old = path_of(client.get(FEED).json["feed_url"])

    rotated = client.post(f"{FEED}/rotate")

    assert rotated.status_code == 200
    new = path_of(rotated.json["feed_url"])
    assert new != old
    assert client.get(new).status_code == 200
    gone = client.get(old)
    assert gone.status_code == 404
    assert gone.json == {"error": "no such calendar feed"}


@pytest.mark.parametrize("token", ["x" * 43, "short", "a" * 200, "..%2F..%2Fstate"])
def test_an_unknown_or_malformed_token_answers_404(client, feeds_bucket, token):
    answer = client.get(f"/api/v1/calendar/feeds/{token}.ics")

    assert answer.status_code == 404
    assert "error" in answer.json
