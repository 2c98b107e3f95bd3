"""The Todo entity: its rules, its versions and the events its changes record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from todo_api.domain.model import Todo

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2030, 1, 1, 13, 0, tzinfo=UTC)


def stored(**fields) -> Todo:
    todo = Todo.create(now=NOW, title="Buy milk", **fields)
    todo.id = 7
    todo.release_events()
    return todo


def test_a_new_todo_is_version_1_and_records_todo_created():
    todo = Todo.create(now=NOW, title="Buy milk", deadline_at="2030-02-01T09:30:00")
    todo.id = 1

    (event,) = todo.release_events()

    assert (event.action, event.version, todo.version) == ("created", 1, 1)
    assert event.todo.deadline_at == "2030-02-01T09:30:00"
    assert event.todo.created_at == event.todo.updated_at == "2030-01-01T12:00:00+00:00"
    assert todo.release_events() == []


def test_update_bumps_version_and_records_todo_changed():
    todo = stored(description="semi-skimmed")

    todo.change({"completed": True}, LATER)

    (event,) = todo.release_events()
    assert (event.action, event.version, todo.version) == ("updated", 2, 2)
    assert (event.todo.completed, event.todo.description) == (True, "semi-skimmed")
    assert event.todo.updated_at == "2030-01-01T13:00:00+00:00"
    assert event.todo.created_at == "2030-01-01T12:00:00+00:00"


def test_delete_bumps_version_and_records_the_todo_as_it_was():
    todo = stored()

    todo.delete()

    (event,) = todo.release_events()
    assert (event.action, event.version, event.todo.title) == ("deleted", 2, "Buy milk")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": "  "}, "title must not be empty"),
        ({"title": "x" * 81}, "title must be at most 80 characters"),
        ({"description": "d" * 121}, "description must be at most 120 characters"),
        ({"deadline_at": "2030-02-30T10:00:00"}, "deadline_at is not a real date and time"),
        ({"deadline_at": "tomorrow"}, "deadline_at must look like YYYY-MM-DDTHH:MM:SS"),
        ({"completed": "yes"}, "completed must be true or false"),
        ({"title": None}, "title must not be null"),
        ({"priority": 1}, "unknown field 'priority'"),
        ({}, "nothing to update"),
    ],
)
def test_a_change_that_breaks_a_rule_changes_nothing(fields, message):
    todo = stored()
    before = todo.state()

    with pytest.raises(ValueError, match=message):
        todo.change(fields, LATER)

    assert (todo.state(), todo.version, todo.release_events()) == (before, 1, [])


def test_a_new_todo_is_checked_by_the_same_rules():
    with pytest.raises(ValueError, match="title must not be empty"):
        Todo.create(now=NOW, title="")


def test_a_change_may_clear_the_nullable_fields():
    todo = stored(description="d", deadline_at="2030-02-01T09:30:00")

    todo.change({"description": None, "deadline_at": None}, LATER)

    assert (todo.description, todo.deadline_at) == (None, None)
