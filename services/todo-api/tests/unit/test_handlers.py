"""The use cases through the message bus, on a fake unit of work: what is stored, what is sent."""

from __future__ import annotations

import pytest

from taskoverflow_shared.events import CalendarFailed, CalendarReady, UnprocessableEvent, parse_data
from taskoverflow_shared.metrics import Metrics
from taskoverflow_shared.topology import load_topology
from todo_api.bootstrap import build_bus
from todo_api.domain.commands import (
    CalendarRequest,
    CreateTodo,
    DeleteTodo,
    FailOverdueCalendarJobs,
    ForgetFinishedCalendarJobs,
    ForgetOldIdempotencyKeys,
    IdempotencyKey,
    NewTodo,
    RequestCalendar,
    TodoChanges,
    UpdateTodo,
)
from todo_api.domain.model import DEADLINE_PASSED, IdempotencyKeyReused, InvalidInput, JobStatus, NotFound

from .conftest import DEADLINE_SECONDS


def create(bus, title: str = "Buy milk", **fields):
    return bus.handle(CreateTodo(NewTodo(title=title, **fields), "corr-1"))


def test_create_stores_the_todo_and_its_todo_changed_in_one_commit(bus, uow):
    todo = create(bus, deadline_at="2030-02-01T09:30:00")

    assert uow.todos.stored[todo.id].title == "Buy milk"
    (envelope,) = uow.outbox
    assert (envelope.type, envelope.subject, envelope.correlation_id) == ("TodoChanged", f"todos/{todo.id}", "corr-1")
    assert parse_data(envelope).todo == todo
    assert uow.commits == 1


def test_update_bumps_version_and_records_todo_changed(bus, uow, clock):
    todo = create(bus)
    clock.advance(60)

    updated = bus.handle(UpdateTodo(todo.id, TodoChanges(completed=True), "corr-2"))

    assert updated.completed is True and updated.updated_at > todo.updated_at
    event = parse_data(uow.outbox[-1])
    assert (event.action, event.version, event.todo) == ("updated", 2, updated)


def test_delete_removes_the_todo_and_announces_it_as_it_was(bus, uow):
    todo = create(bus)

    deleted = bus.handle(DeleteTodo(todo.id, "corr-3"))

    assert deleted == todo and uow.todos.stored == {}
    assert (parse_data(uow.outbox[-1]).action, parse_data(uow.outbox[-1]).version) == ("deleted", 2)


@pytest.mark.parametrize("command", [UpdateTodo(404, TodoChanges(completed=True), "c"), DeleteTodo(404, "c")])
def test_changing_an_unknown_todo_is_not_found_and_sends_nothing(bus, uow, command):
    with pytest.raises(NotFound):
        bus.handle(command)
    assert uow.outbox == []


def test_a_change_that_breaks_a_rule_is_refused_and_sends_nothing(bus, uow):
    todo = create(bus)
    with pytest.raises(InvalidInput):
        bus.handle(UpdateTodo(todo.id, TodoChanges.model_construct(_fields_set={"title"}, title=" "), "c"))
    assert len(uow.outbox) == 1 and uow.commits == 1


def test_request_calendar_opens_a_pending_job_and_sends_a_bare_calendar_request(bus, uow):
    job_id = bus.handle(RequestCalendar(CalendarRequest(notify_email="me@example.com"), "corr-4"))

    assert uow.jobs.stored[job_id].status == JobStatus.PENDING
    (envelope,) = uow.outbox
    assert (envelope.type, envelope.subject) == ("CalendarRequested", f"calendars/{job_id}")
    # The relay adds the todos (of the owner: none without authentication, so all of them).
    assert envelope.data == {"job_id": job_id, "notify_email": "me@example.com", "owner": None}


TOPOLOGY = load_topology()


def ready(job_id: str, sha256: str = "b" * 64, **claims) -> CalendarReady:
    """The CalendarReady the worker sends for `job_id`; `claims` override its bucket or key."""
    fields = {"bucket": TOPOLOGY.bucket_name, "key": TOPOLOGY.calendar_key(job_id)} | claims
    return CalendarReady(job_id=job_id, size_bytes=9, event_count=1, sha256=sha256, **fields)


def test_calendar_ready_finishes_the_job(bus, uow):
    job_id = bus.handle(RequestCalendar(CalendarRequest(), "c"))

    bus.handle(ready(job_id))

    assert uow.jobs.stored[job_id].status == JobStatus.SUCCESS


def test_duplicate_calendar_outcome_is_ignored(bus, uow):
    job_id = bus.handle(RequestCalendar(CalendarRequest(), "c"))
    bus.handle(ready(job_id, "1" * 64))
    commits = uow.commits

    bus.handle(ready(job_id, "2" * 64))
    bus.handle(CalendarFailed(job_id=job_id, reason="late"))

    job = uow.jobs.stored[job_id]
    assert (job.status, job.result_sha256, job.error) == (JobStatus.SUCCESS, "1" * 64, None)
    assert uow.commits == commits


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"key": "calendars/another-users-job.ics"}, id="another job's calendar"),
        pytest.param({"key": "event-archive/2026/12/07/00/archive.ndjson"}, id="the event archive"),
        pytest.param({"bucket": "someone-elses-bucket"}, id="another bucket"),
    ],
)
def test_a_calendar_ready_naming_another_object_than_the_jobs_own_is_refused_and_changes_nothing(bus, uow, claims):
    job_id = bus.handle(RequestCalendar(CalendarRequest(), "c"))
    commits = uow.commits

    with pytest.raises(UnprocessableEvent, match=f"not job {job_id}'s"):
        bus.handle(ready(job_id, **claims))

    job = uow.jobs.stored[job_id]
    assert (job.status, job.result_bucket, job.result_key) == (JobStatus.PENDING, None, None)
    assert uow.commits == commits


def test_a_forged_calendar_ready_cannot_replace_a_finished_jobs_result(bus, uow):
    job_id = bus.handle(RequestCalendar(CalendarRequest(), "c"))
    bus.handle(ready(job_id))

    with pytest.raises(UnprocessableEvent):
        bus.handle(ready(job_id, key="calendars/another-users-job.ics"))

    assert uow.jobs.stored[job_id].result_key == TOPOLOGY.calendar_key(job_id)


def sweep(bus, batch_size: int = 100) -> int:
    return bus.handle(FailOverdueCalendarJobs(batch_size, "sweep-1"))


def test_a_job_past_its_deadline_fails_with_nobody_polling_and_its_failure_is_announced(bus, uow, clock):
    job_id = bus.handle(RequestCalendar(CalendarRequest(notify_email="me@example.com"), "c"))
    assert sweep(bus) == 0
    clock.advance(DEADLINE_SECONDS + 1)

    assert sweep(bus) == 1

    job = uow.jobs.stored[job_id]
    assert (job.status, job.error) == (JobStatus.FAILURE, DEADLINE_PASSED)
    failed = uow.outbox[-1]
    assert (failed.type, failed.subject, failed.correlation_id) == ("CalendarFailed", f"calendars/{job_id}", "sweep-1")
    assert parse_data(failed) == CalendarFailed(
        job_id=job_id, reason=DEADLINE_PASSED, notify_email="me@example.com", deadline_passed=True
    )
    assert sweep(bus) == 0, "a job fails by its deadline once"


def test_every_event_the_todo_api_emits_comes_from_a_producer_the_topology_declares(bus, uow, clock):
    # Consumers dead-letter an event whose `source` topology.json does not let produce its type.
    todo = bus.handle(CreateTodo(NewTodo(title="t"), "c"))
    bus.handle(UpdateTodo(todo.id, TodoChanges(completed=True), "c"))
    bus.handle(DeleteTodo(todo.id, "c"))
    bus.handle(RequestCalendar(CalendarRequest(), "c"))
    clock.advance(DEADLINE_SECONDS + 1)
    sweep(bus)

    assert {envelope.type for envelope in uow.outbox} == {"TodoChanged", "CalendarRequested", "CalendarFailed"}
    producers = load_topology().producers
    assert all(envelope.source in producers[envelope.type] for envelope in uow.outbox)


def test_the_sweep_takes_at_most_one_batch_oldest_first(bus, uow, clock):
    first, second, third = (bus.handle(RequestCalendar(CalendarRequest(), "c")) for _ in range(3))
    clock.advance(DEADLINE_SECONDS + 1)

    assert sweep(bus, batch_size=2) == 2

    assert [uow.jobs.stored[job].status for job in (first, second, third)] == ["FAILURE", "FAILURE", "PENDING"]


def test_a_calendar_ready_after_the_deadline_failure_wins(bus, uow, clock):
    job_id = bus.handle(RequestCalendar(CalendarRequest(), "c"))
    clock.advance(DEADLINE_SECONDS + 1)
    sweep(bus)
    sent = len(uow.outbox)

    bus.handle(ready(job_id))

    job = uow.jobs.stored[job_id]
    assert (job.status, job.error, job.result_key) == (JobStatus.SUCCESS, None, TOPOLOGY.calendar_key(job_id))
    assert len(uow.outbox) == sent, "the worker's CalendarReady is the announcement"


def test_our_own_deadline_failure_coming_back_changes_nothing(bus, uow, clock):
    job_id = bus.handle(RequestCalendar(CalendarRequest(), "c"))
    clock.advance(DEADLINE_SECONDS + 1)
    sweep(bus)
    commits = uow.commits

    bus.handle(CalendarFailed(job_id=job_id, reason=DEADLINE_PASSED, deadline_passed=True))

    assert uow.commits == commits


def test_finished_jobs_are_forgotten_after_the_retention_and_unfinished_ones_never(bus, uow, clock):
    finished = bus.handle(RequestCalendar(CalendarRequest(notify_email="me@example.com"), "c"))
    bus.handle(ready(finished))
    clock.advance(6 * 86_400)
    unfinished = bus.handle(RequestCalendar(CalendarRequest(), "c"))
    forget = ForgetFinishedCalendarJobs(100, "sweep-1")
    assert bus.handle(forget) == 0

    clock.advance(86_400 + 1)  # the retention is 7 days (build_bus's default)

    assert bus.handle(forget) == 1
    assert set(uow.jobs.stored) == {unfinished}


def test_an_outcome_for_an_unknown_job_is_ignored(bus, uow):
    bus.handle(CalendarFailed(job_id="never-requested", reason="x"))
    assert uow.commits == 0


def test_every_consumed_event_has_a_handler(bus):
    assert sorted(bus.handled_event_types()) == ["CalendarFailed", "CalendarReady"]


def test_each_job_counts_once_by_its_outcome_however_often_it_is_reported(uow, clock):
    metrics = Metrics("todo-api")
    bus = build_bus(lambda: uow, DEADLINE_SECONDS, now=clock, metrics=metrics)
    succeeded, failed = (bus.handle(RequestCalendar(CalendarRequest(), "c")) for _ in range(2))

    bus.handle(ready(succeeded))
    bus.handle(ready(succeeded))
    bus.handle(CalendarFailed(job_id=failed, reason="bad deadline"))
    bus.handle(CalendarFailed(job_id="never-requested", reason="x"))

    assert metrics.value("calendar_jobs_finished", outcome="SUCCESS") == 1
    assert metrics.value("calendar_jobs_finished", outcome="FAILURE") == 1


# --- ownership: a token's `sub` owns what it creates -------------------------------------------


def test_a_todo_belongs_to_its_creator_and_is_not_found_for_anyone_else(bus, uow):
    todo = bus.handle(CreateTodo(NewTodo(title="mine"), "corr-1", owner="user-a"))
    assert uow.todos.stored[todo.id].owner == "user-a"
    sent = len(uow.outbox)

    for command in (
        UpdateTodo(todo.id, TodoChanges(completed=True), "corr-2", owner="user-b"),
        DeleteTodo(todo.id, "corr-3", owner="user-b"),
    ):
        with pytest.raises(NotFound):
            bus.handle(command)

    assert len(uow.outbox) == sent
    assert bus.handle(UpdateTodo(todo.id, TodoChanges(completed=True), "corr-4", owner="user-a")).completed


def test_every_change_of_a_todo_carries_its_owner_even_when_another_request_makes_it(bus, uow):
    todo = bus.handle(CreateTodo(NewTodo(title="mine"), "corr-1", owner="user-a"))
    bus.handle(UpdateTodo(todo.id, TodoChanges(completed=True), "corr-2", owner=None))
    bus.handle(DeleteTodo(todo.id, "corr-3", owner=None))

    changes = [envelope.data for envelope in uow.outbox if envelope.type == "TodoChanged"]
    assert [(data["action"], data["owner"]) for data in changes] == [
        ("created", "user-a"),
        ("updated", "user-a"),
        ("deleted", "user-a"),
    ]


def test_without_authentication_every_todo_may_be_changed_as_before(bus):
    todo = bus.handle(CreateTodo(NewTodo(title="a user's"), "corr-1", owner="user-a"))
    assert bus.handle(UpdateTodo(todo.id, TodoChanges(title="anyone's"), "corr-2", owner=None)).title == "anyone's"


def test_a_calendar_request_carries_its_owner_to_the_relay(bus, uow):
    job_id = bus.handle(RequestCalendar(CalendarRequest(), "corr-1", owner="user-a"))
    assert uow.jobs.stored[job_id].owner == "user-a"
    assert uow.outbox[-1].data["owner"] == "user-a"


def test_with_authentication_calendar_mail_goes_only_to_the_verified_address(bus, uow):
    own = CalendarRequest(notify_email="Ann@Example.com")
    job_id = bus.handle(RequestCalendar(own, "corr-1", owner="user-a", verified_email="ann@example.com"))
    assert uow.jobs.stored[job_id].notify_email == "ann@example.com"

    stranger = CalendarRequest(notify_email="victim@example.com")
    with pytest.raises(InvalidInput, match="your own verified"):
        bus.handle(RequestCalendar(stranger, "corr-2", owner="user-a", verified_email="ann@example.com"))
    with pytest.raises(InvalidInput, match="no verified e-mail"):
        bus.handle(RequestCalendar(own, "corr-3", owner="user-a", verified_email=None))
    # No address asked for: the job names none (the notifier's own default recipient applies).
    quiet = bus.handle(RequestCalendar(CalendarRequest(), "corr-4", owner="user-a", verified_email="ann@example.com"))
    assert uow.jobs.stored[quiet].notify_email is None


def key(value: str, clock, fingerprint: str = "the same request", owner: str | None = "user-a") -> IdempotencyKey:
    return IdempotencyKey(owner, value, fingerprint, clock())


def test_a_create_repeated_with_its_key_makes_one_todo_and_gets_the_first_answer(bus, uow, clock):
    command = CreateTodo(NewTodo(title="once"), "corr-1", owner="user-a", idempotency_key=key("k-1", clock))
    first = bus.handle(command)
    clock.advance(5)

    assert bus.handle(command) == first
    assert list(uow.todos.stored) == [first.id] and len(uow.outbox) == 1 and uow.commits == 1
    # Another user's same key is theirs: a todo of their own.
    theirs_key = key("k-1", clock, owner="user-b")
    theirs = bus.handle(CreateTodo(NewTodo(title="once"), "c", owner="user-b", idempotency_key=theirs_key))
    assert theirs.id != first.id


def test_a_delete_repeated_with_its_key_answers_the_todo_as_it_was_not_not_found(bus, uow, clock):
    todo = create(bus)
    command = DeleteTodo(todo.id, "corr-2", idempotency_key=key("k-2", clock))
    first = bus.handle(command)

    assert bus.handle(command) == first
    assert [parse_data(envelope).action for envelope in uow.outbox] == ["created", "deleted"]
    with pytest.raises(NotFound):
        bus.handle(DeleteTodo(todo.id, "corr-3"))  # without the key it is a new request


def test_an_update_and_a_calendar_request_repeated_with_their_keys_change_nothing_more(bus, uow, clock):
    todo = create(bus)
    update = UpdateTodo(todo.id, TodoChanges(completed=True), "c", idempotency_key=key("k-3", clock))
    updated = bus.handle(update)
    clock.advance(60)
    assert bus.handle(update) == updated and uow.todos.stored[todo.id].version == 2

    calendar = RequestCalendar(CalendarRequest(), "c", idempotency_key=key("k-4", clock))
    job_id = bus.handle(calendar)
    assert bus.handle(calendar) == job_id and list(uow.jobs.stored) == [job_id]
    assert len(uow.outbox) == 3


def test_a_key_sent_again_with_another_request_is_refused_and_changes_nothing(bus, uow, clock):
    bus.handle(CreateTodo(NewTodo(title="first"), "c", idempotency_key=key("k-5", clock, "POST /todos first")))

    with pytest.raises(IdempotencyKeyReused):
        bus.handle(CreateTodo(NewTodo(title="second"), "c", idempotency_key=key("k-5", clock, "POST /todos second")))
    assert [todo.title for todo in uow.todos.stored.values()] == ["first"]


def test_a_refused_request_leaves_its_key_unused(bus, uow, clock):
    with pytest.raises(NotFound):
        bus.handle(DeleteTodo(404, "c", idempotency_key=key("k-6", clock)))
    assert uow.idempotency_keys.stored == {}


def test_keys_are_forgotten_after_their_retention(bus, uow, clock):
    bus.handle(CreateTodo(NewTodo(title="old"), "c", idempotency_key=key("old", clock)))
    clock.advance(23 * 3600)
    bus.handle(CreateTodo(NewTodo(title="new"), "c", idempotency_key=key("new", clock)))
    forget = ForgetOldIdempotencyKeys(100, "sweep-1")
    assert bus.handle(forget) == 0

    clock.advance(3600 + 1)  # the retention is 24 hours (build_bus's default)

    assert bus.handle(forget) == 1
    assert [value for _, value in uow.idempotency_keys.stored] == ["new"]
