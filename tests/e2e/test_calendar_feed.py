"""The live calendar feed on the running system, authentication on: a change reaches the subscribed
feed, conditional GETs, rotation, and two users who never see each other's feed."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.support.moto import wait_until
from tests.support.oidc_issuer import IssuerUser, OidcIssuer
from tests.support.system import RunningSystem

CAROL = IssuerUser("user-carol", "carol@example.com")
DAVE = IssuerUser("user-dave", "dave@example.com")
FEED_TIMEOUT_SECONDS = 60
BURST = 300


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    issuer = OidcIssuer().start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="module")
def running_system(issuer) -> Iterator[RunningSystem]:
    system = RunningSystem("e2e-feed", extra_env=issuer.settings()).start()
    yield system
    system.stop()


def feed_url(session: requests.Session, api: str) -> str:
    answer = session.get(f"{api}/calendar/feed", timeout=10)
    assert answer.status_code == 200
    return answer.json()["feed_url"]


def wait_for_feed(url: str, condition, message: str) -> requests.Response:
    """Poll the feed, as a calendar app would (no Authorization header), until `condition` holds."""

    def fetched() -> requests.Response | None:
        answer = requests.get(url, timeout=10)
        return answer if answer.status_code == 200 and condition(answer.content) else None

    return wait_until(fetched, timeout=FEED_TIMEOUT_SECONDS, interval=0.2, message=message)


def test_a_change_reaches_the_feed_which_answers_304_while_unchanged(running_system, issuer):
    api = f"{running_system.api_url}/api/v1"
    carol = issuer.session_for(CAROL)
    url = feed_url(carol, api)
    title = f"Dentist {uuid.uuid4().hex[:8]}"

    created_at = time.monotonic()
    todo = carol.post(f"{api}/todos", json={"title": title, "deadline_at": "2030-05-04T10:00:00"}, timeout=10)
    assert todo.status_code == 201
    feed = wait_for_feed(url, lambda body: title.encode() in body, "the new todo in the feed")
    freshness = time.monotonic() - created_at

    assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert f"UID:todo-{todo.json()['id']}@taskoverflow".encode() in feed.content
    assert feed.headers["Cache-Control"] == "private, max-age=60" and feed.headers["Last-Modified"]
    unchanged = requests.get(url, headers={"If-None-Match": feed.headers["ETag"]}, timeout=10)
    assert unchanged.status_code == 304

    assert carol.put(f"{api}/todos/{todo.json()['id']}", json={"title": f"{title} moved"}, timeout=10).ok
    moved = wait_for_feed(url, lambda body: f"{title} moved".encode() in body, "the edit in the feed")
    assert b"SEQUENCE:2\r\n" in moved.content
    assert moved.headers["ETag"] != feed.headers["ETag"]
    print(json.dumps({"feed_freshness_seconds": round(freshness, 2)}))


def test_a_burst_of_changes_rewrites_the_feed_a_handful_of_times(running_system, issuer):
    api = f"{running_system.api_url}/api/v1"
    carol = issuer.session_for(CAROL)
    before = running_system.log("ical-feed-worker").count('"feed_written"')
    last = ""
    for number in range(BURST):
        last = f"burst {uuid.uuid4().hex[:8]} {number}"
        assert carol.post(f"{api}/todos", json={"title": last, "deadline_at": "2030-06-01T09:00:00"}, timeout=10).ok
    url = carol.post(f"{api}/calendar/feed/rotate", timeout=10).json()["feed_url"]

    wait_for_feed(url, lambda body: last.encode() in body, "the whole burst in the feed")

    writes = running_system.log("ical-feed-worker").count('"feed_written"') - before
    print(json.dumps({"burst_changes": BURST, "feed_writes": writes}))
    assert writes <= BURST // 10


def test_rotating_retires_the_old_address(running_system, issuer):
    api = f"{running_system.api_url}/api/v1"
    dave = issuer.session_for(DAVE)
    old = feed_url(dave, api)
    assert requests.get(old, timeout=10).status_code == 200

    rotated = dave.post(f"{api}/calendar/feed/rotate", timeout=10)

    assert rotated.status_code == 200
    assert requests.get(rotated.json()["feed_url"], timeout=10).status_code == 200
    gone = requests.get(old, timeout=10)
    assert gone.status_code == 404
    assert "error" in gone.json()


def test_two_users_never_see_each_others_feed(running_system, issuer):
    api = f"{running_system.api_url}/api/v1"
    carol, dave = issuer.session_for(CAROL), issuer.session_for(DAVE)
    carols_url = carol.post(f"{api}/calendar/feed/rotate", timeout=10).json()["feed_url"]
    daves_url = dave.post(f"{api}/calendar/feed/rotate", timeout=10).json()["feed_url"]
    carols_title, daves_title = f"Carol only {uuid.uuid4().hex[:8]}", f"Dave only {uuid.uuid4().hex[:8]}"
    assert carol.post(f"{api}/todos", json={"title": carols_title, "deadline_at": "2030-07-01T09:00:00"}).ok
    assert dave.post(f"{api}/todos", json={"title": daves_title, "deadline_at": "2030-07-02T09:00:00"}).ok

    carols = wait_for_feed(carols_url, lambda body: carols_title.encode() in body, "Carol's todo in her feed")
    daves = wait_for_feed(daves_url, lambda body: daves_title.encode() in body, "Dave's todo in his feed")

    assert daves_title.encode() not in carols.content
    assert carols_title.encode() not in daves.content
    assert requests.get(f"{api}/calendar/feed", timeout=10).status_code == 401
