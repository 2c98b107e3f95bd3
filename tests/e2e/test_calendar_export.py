"""The seed's calendar interaction against the running system: todos → 202 → status → calendar."""

from __future__ import annotations

import pytest
import requests

from taskoverflow_shared.sns_publisher import SQS_MESSAGE_LIMIT_BYTES
from tests.support.moto import wait_until
from tests.support.system import RunningSystem


def unfolded_lines(calendar: bytes) -> list[str]:
    """RFC 5545 §3.1, read independently of the library that wrote it: CRLF lines, folds undone."""
    text = calendar.decode("utf-8")
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert all("\n" not in line and "\r" not in line for line in physical)
    assert all(len(line.encode()) <= 75 for line in physical)
    lines: list[str] = []
    for line in physical:
        if line.startswith((" ", "\t")):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def vevents(lines: list[str]) -> list[dict[str, str]]:
    events, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name.split(";")[0]] = value
    return events


def export_calendar(api_url: str, timeout: float = 60) -> tuple[dict, requests.Response]:
    accepted = requests.post(f"{api_url}/api/v1/todos/ical", timeout=10)
    assert accepted.status_code == 202
    task = accepted.json()

    def finished():
        status = requests.get(task["task_url"], timeout=10).json()
        return status if status["task_status"] in ("SUCCESS", "FAILURE") else None

    status = wait_until(finished, timeout=timeout, interval=0.1, message="the calendar job")
    assert status["task_status"] == "SUCCESS", status
    return status, requests.get(status["result_url"], timeout=60)


def test_seed_interaction_todos_to_calendar(system_on_each_emulator):
    api = system_on_each_emulator.api_url
    with_deadline = requests.post(
        f"{api}/api/v1/todos",
        json={
            "title": "Dentist, 2nd floor; bring card",
            "description": "line one\nline two",
            "deadline_at": "2030-03-04T09:15:00",
        },
        timeout=10,
    ).json()
    without_deadline = requests.post(f"{api}/api/v1/todos", json={"title": "Someday maybe"}, timeout=10).json()

    _, result = export_calendar(api)

    assert result.status_code == 200
    assert result.headers["Content-Type"].startswith("text/calendar")
    lines = unfolded_lines(result.content)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    events = vevents(lines)
    ours = [e for e in events if e["SUMMARY"] == "Dentist\\, 2nd floor\\; bring card"]
    assert len(ours) == 1
    event = ours[0]
    assert event["DESCRIPTION"] == "line one\\nline two"
    assert event["DTSTART"] == "20300304T091500"
    assert {"UID", "DTSTAMP"} <= event.keys()
    assert len({e["UID"] for e in events}) == len(events)
    assert all(e["SUMMARY"] != "Someday maybe" for e in events), "todos without a deadline are left out"
    assert without_deadline["id"] != with_deadline["id"]

    # The same todo keeps its UID in the next calendar.
    _, again = export_calendar(api)
    again_uid = [e["UID"] for e in vevents(unfolded_lines(again.content)) if e["SUMMARY"] == event["SUMMARY"]]
    assert again_uid == [event["UID"]]


@pytest.mark.parametrize("suffix", ["status", "result"])
def test_unknown_task_id_is_404(system_on_each_emulator, suffix):
    unknown = "00000000-0000-0000-0000-000000000000"
    response = requests.get(f"{system_on_each_emulator.api_url}/api/v1/todos/ical/{unknown}/{suffix}", timeout=10)
    assert response.status_code == 404
    assert "error" in response.json()


def test_a_3000_todo_calendar_far_over_256_kib_succeeds(system_on_each_emulator):
    # Its CalendarRequested goes by claim check: the todos in an S3 snapshot, the key in the event.
    titles = [f"bulk todo {n:04d} " + "t" * 50 for n in range(3000)]
    system_on_each_emulator.insert_todos([(title, "d" * 100, "2031-05-06 07:08:09.000000") for title in titles])

    _, result = export_calendar(system_on_each_emulator.api_url, timeout=120)
    assert len(result.content) > SQS_MESSAGE_LIMIT_BYTES
    rendered = {e["SUMMARY"] for e in vevents(unfolded_lines(result.content))}
    assert set(titles) <= rendered


@pytest.mark.slow
def test_a_100k_todo_calendar_completes():
    system = RunningSystem("e2e-100k").start()
    try:
        system.insert_todos(
            [(f"todo {n}", "described", "2030-01-01 09:00:00.000000" if n % 4 else None) for n in range(100_000)],
        )
        _, result = export_calendar(system.api_url, timeout=240)
        assert result.status_code == 200
        events = vevents(unfolded_lines(result.content))
        assert len(events) == 75_000
        assert len({e["UID"] for e in events}) == 75_000
    finally:
        codes = system.stop()
    assert all(code == 0 for code in codes.values()), codes
