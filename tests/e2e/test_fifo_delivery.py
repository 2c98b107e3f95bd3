"""The whole system on FIFO delivery (TASKOVERFLOW_DELIVERY=fifo and nothing else changed).

Every process resolves the `.fifo` names from the topology, so a todo's changes reach the
notifier's subscriber in version order, and the calendar export works as on standard delivery.
"""

import json

import pytest
import requests

from tests.e2e.test_calendar_export import export_calendar
from tests.support.moto import wait_until
from tests.support.webhook_sink import WebhookSink

SECRET = "whsec_ZTJlLWZpZm8td2ViaG9vay1rZXktMDAwMDAwMDAx"


@pytest.fixture(scope="module")
def webhook_sink():
    with WebhookSink(secret=SECRET) as sink:
        yield sink


@pytest.fixture(scope="module")
def system(start_system, webhook_sink):
    system = start_system(
        "fifo-e2e",
        extra_env={
            "TASKOVERFLOW_DELIVERY": "fifo",
            "NOTIFIER_WEBHOOK_URLS": f"{webhook_sink.url}/todos|TodoChanged",
            "NOTIFIER_WEBHOOK_SECRET": SECRET,
            "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
        },
    )
    yield system
    codes = system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"


def test_the_system_runs_on_the_fifo_topic_and_queues_only(system):
    topics = system.client("sns").list_topics()["Topics"]
    queues = system.client("sqs").list_queues()["QueueUrls"]
    assert [t["TopicArn"].rsplit(":", 1)[1] for t in topics] == ["taskoverflow-events.fifo"]
    assert queues and all(url.endswith(".fifo") for url in queues)


def test_a_todos_changes_reach_the_subscriber_in_version_order(system, webhook_sink):
    api = f"{system.api_url}/api/v1/todos"
    todo = requests.post(api, json={"title": "first"}, timeout=10).json()
    for title in ("second", "third"):
        requests.put(f"{api}/{todo['id']}", json={"title": title}, timeout=10).raise_for_status()

    def changes_of_the_todo():
        envelopes = [json.loads(r.body) for r in webhook_sink.received]
        changes = [e["data"] for e in envelopes if e["data"]["todo"]["id"] == todo["id"]]
        return changes if len(changes) >= 3 else None

    changes = wait_until(changes_of_the_todo, timeout=30, message="three TodoChanged webhooks")
    assert [(c["version"], c["action"], c["todo"]["title"]) for c in changes] == [
        (1, "created", "first"),
        (2, "updated", "second"),
        (3, "updated", "third"),
    ]


def test_the_calendar_export_works_on_fifo_delivery(system):
    requests.post(
        f"{system.api_url}/api/v1/todos",
        json={"title": "exported over fifo", "deadline_at": "2030-01-02T03:04:05"},
        timeout=10,
    ).raise_for_status()
    _, calendar = export_calendar(system.api_url, timeout=30)
    assert calendar.status_code == 200
    assert calendar.headers["Content-Type"].startswith("text/calendar")
    assert "SUMMARY:exported over fifo" in calendar.text
