"""The operator CLI against the whole running system: a dead letter redriven once its cause is
fixed, and archived history replayed to one service without repeating what it already did.

Every `taskoverflow` command runs as a real subprocess against the system's emulator (LocalStack),
the way an operator runs it against `make run`.
"""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from tests.support.moto import wait_until
from tests.support.sqs import depth
from tests.support.webhook_sink import WebhookSink

SECRET = "whsec_ZTJlLW9wZXJhdGlvbnMtd2ViaG9vay1rZXktMDAwMQ=="


@pytest.fixture(scope="module")
def first_subscriber():
    # Its first answer is 410 Gone: the notifier treats that as permanent and dead-letters the event.
    with WebhookSink(secret=SECRET, statuses=[410]) as sink:
        yield sink


@pytest.fixture(scope="module")
def new_subscriber():
    with WebhookSink(secret=SECRET) as sink:
        yield sink


@pytest.fixture(scope="module")
def system(start_system, first_subscriber):
    system = start_system(
        "e2e-operations",
        extra_env={
            "NOTIFIER_WEBHOOK_URLS": f"{first_subscriber.url}/first|TodoChanged",
            "NOTIFIER_WEBHOOK_SECRET": SECRET,
            "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
        },
    )
    # The notifier is killed and restarted below; its last long poll stays open in the broker,
    # which hands it whatever arrives meanwhile. Those messages come back after the visibility
    # timeout: 5 s here instead of the topology's 60 keeps the test short (nothing is lost either way).
    sqs = system.client("sqs")
    notifier_queue = sqs.get_queue_url(QueueName="taskoverflow-notifier")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=notifier_queue, Attributes={"VisibilityTimeout": "5"})
    yield system
    codes = system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


def taskoverflow(system, *arguments):
    command = [str(Path(sys.executable).parent / "taskoverflow"), *arguments]
    finished = subprocess.run(command, env=system.env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout.splitlines()


def create_todo(system, title):
    response = requests.post(f"{system.api_url}/api/v1/todos", json={"title": title}, timeout=10)
    response.raise_for_status()
    return response.json()


def update_todo(system, todo_id, **changes):
    requests.put(f"{system.api_url}/api/v1/todos/{todo_id}", json=changes, timeout=10).raise_for_status()


def delivered_event_ids(sink, status=200):
    return [json.loads(request.body)["id"] for request in sink.received if request.answered == status]


def archived_todo_changes(system, todo_ids):
    """The archive's TodoChanged envelopes about these todos, in arrival order (as the CLI lists them)."""
    lines = taskoverflow(system, "archive", "list", "--type", "TodoChanged", "--json")
    envelopes = [json.loads(line) for line in lines]
    return [envelope for envelope in envelopes if envelope["data"]["todo"]["id"] in todo_ids]


def notifier_handled(system, event_ids):
    """How many `event_handled` lines the notifier logged for these events (each delivery counts)."""
    handled = 0
    for line in system.log("notifier").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            handled += entry.get("event") == "event_handled" and entry.get("event_id") in event_ids
    return handled


def test_a_dead_letter_is_listed_with_its_reason_and_processed_after_a_redrive(system, first_subscriber):
    todo = create_todo(system, "refused at first")
    sqs = system.client("sqs")
    notifier_dlq = sqs.get_queue_url(QueueName="taskoverflow-notifier-dlq")["QueueUrl"]
    wait_until(lambda: depth(sqs, notifier_dlq)[0] == 1, timeout=30, message="the dead letter")
    [gone] = delivered_event_ids(first_subscriber, status=410)

    listing = taskoverflow(system, "dlq", "list", "notifier")

    assert listing[0] == "taskoverflow-notifier-dlq: 1 messages visible, 0 in flight"
    assert gone in listing[2] and "TodoChanged" in listing[2] and "HTTP 410" in listing[2]

    # The subscriber is back (it answers 200 from now on): send the dead letter home.
    redriven = taskoverflow(system, "dlq", "redrive", "notifier")

    assert redriven[-1] == "redrive taskoverflow-notifier-dlq -> taskoverflow-notifier: moved 1, skipped 0, failed 0"
    wait_until(lambda: gone in delivered_event_ids(first_subscriber), timeout=30, message="the redelivered webhook")
    delivered = [json.loads(r.body) for r in first_subscriber.received if r.answered == 200]
    assert [envelope["data"]["todo"]["id"] for envelope in delivered if envelope["id"] == gone] == [todo["id"]]
    assert depth(sqs, notifier_dlq) == (0, 0)


def test_replaying_a_window_to_the_notifier_serves_only_its_new_subscriber_and_a_second_replay_changes_nothing(
    system, first_subscriber, new_subscriber
):
    before = create_todo(system, "before the window")
    since = datetime.now(UTC)
    inside = create_todo(system, "inside the window")
    update_todo(system, inside["id"], completed=True)
    until = datetime.now(UTC)
    after = create_todo(system, "after the window")
    todo_ids = {before["id"], inside["id"], after["id"]}
    archived = wait_until(
        lambda: (found := archived_todo_changes(system, todo_ids)) and len(found) == 4 and found,
        timeout=30,
        message="the four TodoChanged events in the archive",
    )
    window = [envelope["id"] for envelope in archived if envelope["data"]["todo"]["id"] == inside["id"]]
    assert [envelope["data"]["action"] for envelope in archived if envelope["id"] in window] == ["created", "updated"]
    all_four = {envelope["id"] for envelope in archived}
    wait_until(
        lambda: all_four <= set(delivered_event_ids(first_subscriber)), timeout=30, message="the first deliveries"
    )
    first_before = len(first_subscriber.received)
    handled_before = notifier_handled(system, set(window))

    # A second subscriber is configured (a redeploy of the notifier) and wants the window's history.
    system.restart(
        "notifier",
        extra_env={
            "NOTIFIER_WEBHOOK_URLS": f"{first_subscriber.url}/first|TodoChanged,{new_subscriber.url}/new|TodoChanged"
        },
    )
    selection = ["--since", since.isoformat(), "--until", until.isoformat(), "--type", "TodoChanged"]
    replayed = taskoverflow(system, "replay", *selection, "--to", "notifier")

    assert replayed[-1] == "replay to queue notifier: sent 2, skipped 0, failed 0"
    wait_until(
        lambda: notifier_handled(system, set(window)) == handled_before + 2, timeout=30, message="the replay handled"
    )
    assert sorted(delivered_event_ids(new_subscriber)) == sorted(window)
    # The first subscriber had them already: the notifier's delivery log skips it.
    assert len(first_subscriber.received) == first_before
    replay_lines = [line for line in system.log("notifier").splitlines() if '"replayed": true' in line]
    assert replay_lines, "the notifier's log should tell replayed events apart"

    again = taskoverflow(system, "replay", *selection, "--to", "notifier")

    assert again[-1] == "replay to queue notifier: sent 2, skipped 0, failed 0"
    wait_until(
        lambda: notifier_handled(system, set(window)) == handled_before + 4,
        timeout=30,
        message="the second replay handled",
    )
    assert sorted(delivered_event_ids(new_subscriber)) == sorted(window)
    assert len(first_subscriber.received) == first_before
