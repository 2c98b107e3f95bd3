"""The domain renderer: todos in, RFC 5545 bytes out, the same bytes for the same todos."""

from __future__ import annotations

import hashlib
import time

import icalendar
import pytest

from ical_worker.domain import CalendarRenderer, InvalidTodo


def test_the_calendar_has_the_required_calendar_properties(kit) -> None:
    calendar = kit.read_ics(CalendarRenderer().render([kit.make_todo(1)]).body)

    assert calendar.properties["VERSION"] == "2.0"
    assert calendar.properties["PRODID"] == "-//TaskOverflow//ical-worker 1.0//EN"
    assert calendar.properties["CALSCALE"] == "GREGORIAN"


def test_each_todo_with_a_deadline_becomes_one_event_with_its_fields(kit) -> None:
    todo = kit.make_todo(
        42,
        title="Pay rent; call bank, now",
        description="Line one\nline two \\ done",
        deadline_at="2025-03-14T15:09:26",
        updated_at="2024-06-01T12:30:45.123456+02:00",
    )

    rendered = CalendarRenderer().render([todo])

    event = kit.read_ics(rendered.body).event("todo-42@taskoverflow")
    assert event == {
        "UID": "todo-42@taskoverflow",
        "DTSTAMP": "20240601T103045Z",  # updated_at in UTC, to the second
        "DTSTART": "20250314T150926",  # floating: the deadline's wall-clock time
        "SUMMARY": "Pay rent; call bank, now",
        "DESCRIPTION": "Line one\nline two \\ done",
    }
    assert rendered.event_count == 1


def test_todos_without_a_deadline_are_left_out_and_not_counted(kit) -> None:
    todos = [kit.make_todo(1), kit.make_todo(2, deadline_at=None), kit.make_todo(3)]

    rendered = CalendarRenderer().render(todos)

    assert rendered.event_count == 2
    assert [event["UID"] for event in kit.read_ics(rendered.body).events] == [
        "todo-1@taskoverflow",
        "todo-3@taskoverflow",
    ]


def test_a_calendar_without_todos_or_deadlines_is_still_a_valid_calendar(kit) -> None:
    for todos in ([], [kit.make_todo(1, deadline_at=None)]):
        rendered = CalendarRenderer().render(todos)

        assert rendered.event_count == 0
        assert kit.read_ics(rendered.body).events == []
        assert icalendar.Calendar.from_ical(rendered.body).walk("VEVENT") == []


def test_a_todo_without_a_description_has_an_empty_description(kit) -> None:
    rendered = CalendarRenderer().render([kit.make_todo(1, description=None)])

    assert kit.read_ics(rendered.body).event("todo-1@taskoverflow")["DESCRIPTION"] == ""


def test_the_same_todos_in_any_order_render_to_the_same_bytes(kit) -> None:
    todos = kit.many_todos(300)
    first = CalendarRenderer().render(todos)

    again = CalendarRenderer().render(list(reversed(todos)))
    without_cache = CalendarRenderer(cache_size=0).render(todos[150:] + todos[:150])

    assert first.body == again.body == without_cache.body
    assert first.sha256 == hashlib.sha256(first.body).hexdigest()
    assert first.size_bytes == len(first.body)
    uids = [event["UID"] for event in kit.read_ics(first.body).events]
    assert uids == sorted(uids, key=lambda uid: int(uid.split("-")[1].split("@")[0]))


def test_rendering_does_not_depend_on_the_machine_time_zone(kit, monkeypatch) -> None:
    todos = [*kit.many_todos(20), kit.make_todo(99, updated_at="2024-06-01T10:30:45")]
    before = CalendarRenderer().render(todos).body

    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: any use of local time would show
    time.tzset()
    try:
        after = CalendarRenderer().render(todos).body
    finally:
        monkeypatch.undo()
        time.tzset()

    assert after == before


def test_a_todo_keeps_its_uid_and_event_text_whatever_else_is_in_the_calendar(kit) -> None:
    todo = kit.make_todo(7, title="Stable")
    alone = kit.read_ics(CalendarRenderer().render([todo]).body)
    crowded = kit.read_ics(CalendarRenderer().render([*kit.many_todos(5, start=100), todo]).body)

    assert alone.event("todo-7@taskoverflow") == crowded.event("todo-7@taskoverflow")


def test_different_todos_get_different_uids(kit) -> None:
    calendar = kit.read_ics(CalendarRenderer().render(kit.many_todos(500)).body)

    assert len({event["UID"] for event in calendar.events}) == len(calendar.events) == 450


def test_long_and_multilingual_text_is_folded_at_75_octets(kit) -> None:
    title = "Überweisung für die Miete 💶 — " * 5
    body = CalendarRenderer().render([kit.make_todo(1, title=title[:80], description="€" * 120)]).body

    event = kit.read_ics(body).event("todo-1@taskoverflow")  # the reader checks octets and UTF-8 per line

    assert event["SUMMARY"] == title[:80]
    assert event["DESCRIPTION"] == "€" * 120
    assert max(len(line) for line in body.split(b"\r\n")) <= 75


def test_a_changed_todo_is_rendered_again_even_if_updated_at_did_not_move(kit) -> None:
    renderer = CalendarRenderer()
    renderer.render([kit.make_todo(1, title="Before")])

    body = renderer.render([kit.make_todo(1, title="After")]).body

    assert kit.read_ics(body).event("todo-1@taskoverflow")["SUMMARY"] == "After"


def test_a_warm_cache_gives_the_same_bytes_as_a_cold_render(kit) -> None:
    renderer = CalendarRenderer()
    todos = kit.many_todos(200)
    renderer.render(todos)
    todos[10] = kit.make_todo(todos[10].id, title="changed", deadline_at="2026-01-01T00:00:00")

    assert renderer.render(todos).body == CalendarRenderer(cache_size=0).render(todos).body


@pytest.mark.parametrize(
    "deadline_at",
    [
        "2025-02-30T10:00:00",
        "2025-01-01",
        "2025-01-01T10:00",
        "2025-01-01T10:00:00Z",
        "2025-01-01 10:00:00",
        "",
        "soon",
    ],
)
def test_a_bad_deadline_fails_the_calendar_naming_the_todo(kit, deadline_at: str) -> None:
    with pytest.raises(InvalidTodo) as failure:
        CalendarRenderer().render([kit.make_todo(1), kit.make_todo(9, deadline_at=deadline_at)])

    assert "todo 9" in failure.value.reason and "deadline_at" in failure.value.reason


def test_a_bad_updated_at_fails_the_calendar_naming_the_todo(kit) -> None:
    with pytest.raises(InvalidTodo, match="todo 3: updated_at"):
        CalendarRenderer().render([kit.make_todo(3, updated_at="yesterday")])


def test_an_updated_at_without_offset_is_taken_as_utc(kit) -> None:
    body = CalendarRenderer().render([kit.make_todo(1, updated_at="2024-06-01T10:30:45")]).body

    assert kit.read_ics(body).event("todo-1@taskoverflow")["DTSTAMP"] == "20240601T103045Z"


def test_a_todo_id_that_appears_twice_fails_the_calendar(kit) -> None:
    with pytest.raises(InvalidTodo, match="todo 5 appears more than once"):
        CalendarRenderer().render([kit.make_todo(5), kit.make_todo(6), kit.make_todo(5, title="again")])


def test_icalendar_reads_the_same_events_as_our_own_reader(kit) -> None:
    body = CalendarRenderer().render(kit.many_todos(200)).body

    ours = {(e["UID"], e["SUMMARY"], e["DESCRIPTION"], e["DTSTART"], e["DTSTAMP"]) for e in kit.read_ics(body).events}
    theirs = {
        (
            str(event["UID"]),
            str(event["SUMMARY"]),
            str(event["DESCRIPTION"]),
            event["DTSTART"].dt.strftime("%Y%m%dT%H%M%S"),
            event["DTSTAMP"].dt.strftime("%Y%m%dT%H%M%SZ"),
        )
        for event in icalendar.Calendar.from_ical(body).walk("VEVENT")
    }
    assert ours == theirs
    assert len(ours) == 180
