"""A calendar job's deadline in the whole system: the sweeper in todo-api-consumer fails a job
nobody polls, the notifier announces it, and the calendar that arrives after all still wins."""

from __future__ import annotations

import json

import requests

from tests.support.moto import wait_until
from tests.support.system import RunningSystem
from tests.support.webhook_sink import WebhookSink

SECRET = "whsec_ZTJlLWRlYWRsaW5lLXdlYmhvb2sta2V5LTAwMDE="


def webhooks_about(sink: WebhookSink, job_id: str) -> list[dict]:
    bodies = [json.loads(webhook.body) for webhook in sink.received]
    return [body for body in bodies if body.get("subject") == f"calendars/{job_id}"]


def succeeded(task_url: str) -> dict | None:
    status = requests.get(task_url, timeout=10).json()
    return status if status["task_status"] == "SUCCESS" else None


def test_a_job_nobody_polls_fails_at_its_deadline_and_the_calendar_arriving_later_wins():
    with WebhookSink(secret=SECRET) as sink:
        system = RunningSystem(
            "e2e-calendar-deadline",
            extra_env={
                "CALENDAR_JOB_DEADLINE_SECONDS": "2",
                "CALENDAR_SWEEP_INTERVAL_SECONDS": "0.5",
                "NOTIFIER_WEBHOOK_URLS": f"{sink.url}/hooks",
                "NOTIFIER_WEBHOOK_SECRET": SECRET,
                "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
            },
        ).start()
        try:
            # The worker is down: the request waits in its queue while the deadline passes.
            worker = system.processes["ical-worker"]
            worker.kill()
            worker.wait()
            accepted = requests.post(f"{system.api_url}/api/v1/todos/ical", timeout=10).json()
            job_id = accepted["task_id"]

            # Nobody polls: the sweeper alone fails the job, and the notifier tells subscribers.
            (failed,) = wait_until(lambda: webhooks_about(sink, job_id), timeout=60, message="the deadline failure")
            assert (failed["type"], failed["source"], failed["data"]["deadline_passed"]) == (
                "CalendarFailed",
                "todo-api",
                True,
            )
            status = requests.get(accepted["task_url"], timeout=10).json()
            assert (status["task_status"], status["error"]) == ("FAILURE", "deadline passed")

            # The worker comes back and renders the calendar: SUCCESS wins, and the link works.
            system.restart("ical-worker")
            wait_until(
                lambda: len(webhooks_about(sink, job_id)) == 2, timeout=60, message="the late CalendarReady webhook"
            )
            assert webhooks_about(sink, job_id)[1]["type"] == "CalendarReady"
            status = wait_until(lambda: succeeded(accepted["task_url"]), timeout=30, message="the job to turn SUCCESS")
            assert "error" not in status
            result = requests.get(status["result_url"], timeout=30)
            assert (result.status_code, result.content.startswith(b"BEGIN:VCALENDAR")) == (200, True)
        finally:
            codes = system.stop()
    assert all(code == 0 for code in codes.values()), f"unclean shutdown: {codes}"
