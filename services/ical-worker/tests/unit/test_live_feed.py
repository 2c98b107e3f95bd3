"""The live calendar feed on fakes: versions decide, deletions stick, a batch writes each owner's feed once."""

from __future__ import annotations

import random

import pytest

from ical_worker.adapters.sqs_messages import todo_change
from ical_worker.bootstrap import bootstrap_feed
from ical_worker.config import FeedSettings
from ical_worker.domain import CalendarRenderer, FeedChange, FeedState
from ical_worker.feed_handlers import update_feed, update_feeds
from taskoverflow_shared.batch_mode import HeldMessage
from taskoverflow_shared.events import CalendarReady, TodoChanged, TodoState, UnprocessableEvent, new_envelope
from taskoverflow_shared.topology import feed_keys
from tests.support.fake_sqs import FakeSqs

ALICE = "user-alice"
BOB = "user-bob"


def change(todo: TodoState, version: int, action: str = "updated", owner: str | None = ALICE) -> TodoChanged:
    return TodoChanged.model_validate({"action": action, "todo": todo, "version": version, "owner": owner})


def held(*changes: TodoChanged) -> list[HeldMessage[FeedChange]]:
    messages = []
    for number, data in enumerate(changes):
        envelope = new_envelope(data, source="todo-api", correlation_id=f"c{number}")
        messages.append(HeldMessage({"MessageId": f"m{number}"}, FeedChange(envelope, data)))
    return messages


def keys_of(owner: str | None):
    return feed_keys("feeds/", owner)


def write(feeds, *changes: TodoChanged) -> set[str]:
    return update_feeds(held(*changes), feeds=feeds, renderer=CalendarRenderer(), keys_of=keys_of)


def stored_state(feeds, owner: str | None = ALICE) -> FeedState:
    return FeedState.from_bytes(feeds.objects[keys_of(owner).state])


def shown_titles(feeds, kit, owner: str | None = ALICE) -> dict[str, str]:
    calendar = kit.read_ics(feeds.objects[keys_of(owner).calendar])
    return {event["UID"]: event["SUMMARY"] for event in calendar.events}


def test_the_newest_version_of_a_todo_wins_whatever_order_its_changes_arrive_in(kit):
    versions = [change(kit.make_todo(1, title=f"v{n}"), n) for n in range(1, 6)]
    in_order, shuffled = FeedState(), FeedState()
    in_order.apply_all(versions)
    shuffled.apply_all(random.Random(7).sample(versions, len(versions)))

    assert in_order.to_bytes() == shuffled.to_bytes()
    assert in_order.entries[1].version == 5
    assert in_order.entries[1].todo is not None and in_order.entries[1].todo.title == "v5"


def test_a_repeated_or_older_change_is_ignored(kit):
    state = FeedState()
    assert state.apply_all([change(kit.make_todo(1, title="new"), 3)]) == [True]

    assert state.apply_all([change(kit.make_todo(1, title="new"), 3), change(kit.make_todo(1, title="old"), 2)]) == [
        False,
        False,
    ]
    assert state.entries[1].todo is not None and state.entries[1].todo.title == "new"


def test_a_deletion_keeps_its_version_so_a_late_update_cannot_bring_the_todo_back(kit):
    state = FeedState()
    state.apply_all([change(kit.make_todo(1), 1, "created"), change(kit.make_todo(1), 3, "deleted")])

    assert state.apply(change(kit.make_todo(1, title="late"), 2)) is False
    assert state.entries[1].todo is None and state.entries[1].version == 3
    assert state.shown() == []


def test_completed_todos_and_todos_without_a_deadline_leave_the_feed(kit):
    state = FeedState()
    state.apply_all(
        [
            change(kit.make_todo(1), 1),
            change(kit.make_todo(2, completed=True), 2),
            change(kit.make_todo(3, deadline_at=None), 1),
        ]
    )

    calendar = kit.read_ics(state.render(CalendarRenderer()).body)

    assert [event["UID"] for event in calendar.events] == ["todo-1@taskoverflow"]


def test_the_feed_names_itself_asks_to_be_refreshed_and_numbers_each_revision(kit):
    state = FeedState()
    state.apply_all([change(kit.make_todo(7), 4)])

    body = state.render(CalendarRenderer()).body
    calendar = kit.read_ics(body)

    assert calendar.properties["X-WR-CALNAME"] == "TaskOverflow"
    assert b"\r\nREFRESH-INTERVAL;VALUE=DURATION:PT5M\r\n" in body
    assert calendar.properties["X-PUBLISHED-TTL"] == "PT5M"
    assert calendar.event("todo-7@taskoverflow")["SEQUENCE"] == "4"


def test_the_state_reads_back_as_it_was_written(kit):
    state = FeedState()
    state.apply_all([change(kit.make_todo(2), 5), change(kit.make_todo(1), 2, "deleted")])

    assert FeedState.from_bytes(state.to_bytes()) == state


def test_a_burst_by_one_owner_writes_their_feed_once_per_batch(feeds, kit):
    burst = [change(kit.make_todo(n % 50, title=f"t{n}"), n // 50 + 1) for n in range(3000)]

    failed = write(feeds, *burst)

    assert failed == set()
    assert (feeds.calendar_puts, feeds.state_puts) == (1, 1)
    assert len(shown_titles(feeds, kit)) == 50
    assert shown_titles(feeds, kit)["todo-49@taskoverflow"] == "t2999"


def test_a_redelivered_batch_writes_nothing(feeds, kit):
    changes = [change(kit.make_todo(1), 1), change(kit.make_todo(2), 1)]
    write(feeds, *changes)
    writes = (feeds.calendar_puts, feeds.state_puts)

    assert write(feeds, *changes) == set()
    assert (feeds.calendar_puts, feeds.state_puts) == writes


def test_each_owner_has_a_feed_of_their_own(feeds, kit):
    write(feeds, change(kit.make_todo(1, title="alice's"), 1), change(kit.make_todo(2, title="bob's"), 1, owner=BOB))

    assert shown_titles(feeds, kit, ALICE) == {"todo-1@taskoverflow": "alice's"}
    assert shown_titles(feeds, kit, BOB) == {"todo-2@taskoverflow": "bob's"}
    assert keys_of(ALICE).calendar != keys_of(BOB).calendar != keys_of(None).calendar


def test_a_concurrent_writer_loses_no_update(feeds, kit):
    keys = keys_of(ALICE)
    theirs = [h.item for h in held(change(kit.make_todo(2, title="theirs"), 1))]

    def another_worker_writes_first() -> None:
        feeds.before_state_put = lambda: None
        update_feed(keys, theirs, feeds=feeds, renderer=CalendarRenderer())

    feeds.before_state_put = another_worker_writes_first
    ours = [h.item for h in held(change(kit.make_todo(1, title="ours"), 1))]

    update = update_feed(keys, ours, feeds=feeds, renderer=CalendarRenderer())

    assert update.conflicts == 1
    assert shown_titles(feeds, kit) == {"todo-1@taskoverflow": "ours", "todo-2@taskoverflow": "theirs"}
    assert [entry.todo and entry.todo.title for entry in stored_state(feeds).entries.values()] == ["ours", "theirs"]


def test_only_the_messages_of_an_owner_whose_feed_failed_come_back(feeds, kit):
    feeds.unreachable.add(keys_of(BOB).calendar)

    failed = write(feeds, change(kit.make_todo(1), 1), change(kit.make_todo(2), 1, owner=BOB))

    assert failed == {"m1"}
    assert keys_of(ALICE).state in feeds.objects
    assert keys_of(BOB).state not in feeds.objects


def test_the_loop_acknowledges_a_batch_once_its_feeds_are_stored_and_dead_letters_what_is_no_todo_change(feeds, kit):
    sqs = FakeSqs()
    good = [
        sqs.send(new_envelope(change(kit.make_todo(n), 1), source="todo-api", correlation_id="c").model_dump_json())
        for n in (1, 2)
    ]
    bad_deadline = change(kit.make_todo(3), 1).model_dump(mode="json")
    bad_deadline["todo"]["deadline_at"] = "2025-02-30T09:00:00"
    envelope = new_envelope(change(kit.make_todo(3), 1), source="todo-api", correlation_id="c")
    bad = sqs.send(envelope.model_copy(update={"data": bad_deadline}).model_dump_json())
    consumer = bootstrap_feed(FeedSettings.from_environment({}), sqs=sqs, feeds=feeds)

    received = consumer.poll_once()
    flushed = consumer.handle_held()

    assert (received.dead_lettered, received.held) == (1, 2)
    assert flushed.handled == 2
    assert sqs.deleted == [bad, *good]  # the bad one once it is in the DLQ
    assert len(sqs.dead_letters) == 1
    assert set(shown_titles(feeds, kit)) == {"todo-1@taskoverflow", "todo-2@taskoverflow"}


def test_decoding_refuses_other_event_types():
    ready = CalendarReady(job_id="j", bucket="b", key="k", size_bytes=1, event_count=0, sha256="0" * 64)
    message = {
        "MessageId": "m",
        "Body": new_envelope(ready, source="ical-worker", correlation_id="c").model_dump_json(),
    }

    with pytest.raises(UnprocessableEvent, match="TodoChanged"):
        todo_change(message)
