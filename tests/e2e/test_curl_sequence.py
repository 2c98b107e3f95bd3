"""docs/api.md's "With curl", request by request, against the running system on each
emulator: create, list, filter, get, update, delete, the 400s, and a calendar request followed
from its status to its result.

The system is shared by the session, so lists are checked for this test's todos only.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from tests.e2e.test_calendar_export import unfolded_lines, vevents
from tests.support.moto import wait_until

JSON = {"Content-Type": "application/json"}


def deadline_in(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


def ids(response: requests.Response) -> set[int]:
    assert response.status_code == 200, response.text
    return {todo["id"] for todo in response.json()}


def test_the_readme_curl_sequence(system_on_each_emulator):
    api = f"{system_on_each_emulator.api_url}/api/v1"

    health = requests.get(f"{api}/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"

    # Create: one due soon, one without a deadline, one due in a month.
    created = requests.post(
        f"{api}/todos",
        headers=JSON,
        json={"title": "Buy milk", "description": "semi-skimmed", "deadline_at": deadline_in(2)},
        timeout=10,
    )
    assert created.status_code == 201
    milk = created.json()
    assert (milk["title"], milk["description"], milk["completed"]) == ("Buy milk", "semi-skimmed", False)
    assert {"id", "created_at", "updated_at", "deadline_at"} <= milk.keys()
    someday = requests.post(f"{api}/todos", headers=JSON, json={"title": "Someday"}, timeout=10)
    assert someday.status_code == 201
    someday = someday.json()
    assert someday["deadline_at"] is None
    later = requests.post(f"{api}/todos", json={"title": "Later", "deadline_at": deadline_in(30)}, timeout=10).json()
    ours = {milk["id"], someday["id"], later["id"]}

    # List and filter.
    assert ours <= ids(requests.get(f"{api}/todos", timeout=10))
    due_this_week = ids(requests.get(f"{api}/todos", params={"completed": "false", "window": 7}, timeout=10))
    assert due_this_week & ours == {milk["id"]}

    # Get one, and an unknown one.
    assert requests.get(f"{api}/todos/{milk['id']}", timeout=10).json() == milk
    missing = requests.get(f"{api}/todos/999999999", timeout=10)
    assert missing.status_code == 404
    assert "error" in missing.json()

    # Partial update.
    updated = requests.put(f"{api}/todos/{milk['id']}", headers=JSON, json={"completed": True}, timeout=10)
    assert updated.status_code == 200
    assert updated.json()["completed"] is True
    assert updated.json()["title"] == "Buy milk"
    assert milk["id"] in ids(requests.get(f"{api}/todos", params={"completed": "true"}, timeout=10))
    assert milk["id"] not in ids(requests.get(f"{api}/todos", params={"completed": "false"}, timeout=10))

    # Delete answers the deleted todo; it is gone afterwards.
    deleted = requests.delete(f"{api}/todos/{someday['id']}", timeout=10)
    assert deleted.status_code == 200
    assert deleted.json()["id"] == someday["id"]
    assert requests.get(f"{api}/todos/{someday['id']}", timeout=10).status_code == 404
    assert requests.delete(f"{api}/todos/{someday['id']}", timeout=10).status_code == 404

    # 400s, each with an error message.
    no_such_day = {"title": "t", "deadline_at": "2026-02-30T09:00:00"}
    refused = [
        requests.post(f"{api}/todos", headers=JSON, json={"title": "", "id": 3}, timeout=10),
        requests.post(f"{api}/todos", headers=JSON, data="not json", timeout=10),
        requests.post(f"{api}/todos", headers=JSON, json=no_such_day, timeout=10),
        requests.put(f"{api}/todos/{milk['id']}", headers=JSON, json={"completed": "yes"}, timeout=10),
        requests.get(f"{api}/todos", params={"completed": "maybe"}, timeout=10),
        requests.get(f"{api}/todos", params={"window": "-1"}, timeout=10),
    ]
    for response in refused:
        assert response.status_code == 400, (response.request.method, response.request.url, response.text)
        assert response.json()["error"]

    # A calendar: 202 with the task's URL, its status until it finishes, then the calendar itself.
    accepted = requests.post(f"{api}/todos/ical", timeout=10)
    assert accepted.status_code == 202
    task = accepted.json()
    assert task["task_url"].endswith(f"/todos/ical/{task['task_id']}/status")

    def finished():
        status = requests.get(task["task_url"], timeout=10).json()
        return status if status["task_status"] in ("SUCCESS", "FAILURE") else None

    status = wait_until(finished, timeout=60, interval=0.1, message="the calendar job")
    assert status["task_status"] == "SUCCESS", status
    assert status["task_id"] == task["task_id"]
    calendar = requests.get(status["result_url"], timeout=30, allow_redirects=False)  # curl without -L
    assert calendar.status_code == 200
    assert calendar.headers["Content-Type"].startswith("text/calendar")
    summaries = {event["SUMMARY"] for event in vevents(unfolded_lines(calendar.content))}
    assert {"Buy milk", "Later"} <= summaries
    assert "Someday" not in summaries

    with_mail = requests.post(f"{api}/todos/ical", headers=JSON, json={"notify_email": "me@example.com"}, timeout=10)
    assert with_mail.status_code == 202
    unknown = requests.get(f"{api}/todos/ical/no-such-task/status", timeout=10)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "task no-such-task not found"}
