"""`taskoverflow replay` and `taskoverflow archive list` against a real moto server and S3 archive."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from taskoverflow_operations.archive_query import Selection
from taskoverflow_operations.replay import QueueTarget, TopicTarget, replay, summary_table
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import ArchiveEntry, archive_objects
from taskoverflow_shared.events import CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.topology import load_topology
from tests.support.sqs import depth, receive_all

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}
DAY = datetime(2024, 5, 2, tzinfo=UTC)
WINDOW = Selection(since=DAY, until=DAY + timedelta(days=1))
NOTIFIER_TYPES = ("TodoChanged", "CalendarReady", "CalendarFailed")


def event_at(time, data, subject=None):
    envelope = new_envelope(data, source="test", correlation_id="corr-1", subject=subject)
    return envelope.model_copy(update={"time": time})


def todo_changed(time, version=1, todo_id=1):
    return event_at(
        time, TodoChanged(action="updated", todo={**TODO, "id": todo_id}, version=version), f"todos/{todo_id}"
    )


def archive(*envelopes):
    """Store envelopes in the S3 archive as the event-archiver does, arriving in the order given."""
    topology = load_topology()
    s3 = make_client("s3")
    arrival = datetime(2024, 6, 1, tzinfo=UTC)
    entries = [
        ArchiveEntry.from_envelope_json(envelope.model_dump_json(), arrival + timedelta(seconds=position))
        for position, envelope in enumerate(envelopes)
    ]
    for stored in archive_objects(entries, topology.event_archive_prefix):
        s3.put_object(Bucket=topology.bucket_name, Key=stored.key, Body=stored.body)


def run_replay(addresses, selection, target, **options):
    topology = load_topology()
    return replay(
        make_client("s3"),
        make_client("sqs"),
        make_client("sns"),
        bucket=topology.bucket_name,
        archive_prefix=topology.event_archive_prefix,
        selection=selection,
        target=target,
        progress=False,
        **options,
    )


def notifier_target(addresses):
    return QueueTarget("notifier", addresses.queues["notifier"].url, NOTIFIER_TYPES, "type")


def test_replay_to_the_topic_routes_the_window_by_type_keeps_ids_and_marks_the_replays(topology_addresses):
    sqs = make_client("sqs")
    first, second = todo_changed(DAY + timedelta(hours=9)), todo_changed(DAY + timedelta(hours=17), version=2)
    too_old = todo_changed(DAY - timedelta(hours=1))
    requested = event_at(DAY + timedelta(hours=10), CalendarRequested(job_id="j", todo_count=0, todos=[]))
    # SNS delivers at least once: the archive may hold the same event twice (in two flushes).
    archive(first, too_old, requested)
    archive(first, second)

    report = run_replay(
        topology_addresses,
        Selection(WINDOW.since, WINDOW.until, frozenset({"TodoChanged"})),
        TopicTarget(topology_addresses.topic_arn, "type"),
    )

    assert [e.id for e in report.selected] == [first.id, second.id]
    assert (report.sent, report.skipped, report.failed) == (2, 0, 0)
    notified = receive_all(sqs, topology_addresses.queues["notifier"].url, 2)
    assert sorted(json.loads(m["Body"])["id"] for m in notified) == sorted([first.id, second.id])
    assert {m["MessageAttributes"]["type"]["StringValue"] for m in notified} == {"TodoChanged"}
    assert {m["MessageAttributes"]["replayed"]["StringValue"] for m in notified} == {"true"}
    # moto delivers to every subscription within the publish call: nothing more is on its way.
    assert depth(sqs, topology_addresses.queues["ical-worker"].url) == (0, 0)
    assert depth(sqs, topology_addresses.queues["todo-api"].url) == (0, 0)


def test_replay_to_one_queue_sends_only_there_and_skips_types_that_queue_does_not_consume(topology_addresses):
    sqs = make_client("sqs")
    changed = todo_changed(DAY + timedelta(hours=9))
    requested = event_at(DAY + timedelta(hours=10), CalendarRequested(job_id="j", todo_count=0, todos=[]))
    archive(changed, requested)

    report = run_replay(topology_addresses, WINDOW, notifier_target(topology_addresses))

    assert (report.sent, report.not_consumed_by_target, report.skipped) == (1, 1, 1)
    [message] = receive_all(sqs, topology_addresses.queues["notifier"].url, 1)
    assert json.loads(message["Body"]) == json.loads(changed.model_dump_json())
    assert message["MessageAttributes"]["type"] == {"DataType": "String", "StringValue": "TodoChanged"}
    assert message["MessageAttributes"]["replayed"] == {"DataType": "String", "StringValue": "true"}
    for other in ("ical-worker", "todo-api", "event-archiver"):
        assert depth(sqs, topology_addresses.queues[other].url) == (0, 0)


def test_subjects_select_the_events_of_those_todos_in_arrival_order(topology_addresses):
    events = [todo_changed(DAY + timedelta(hours=1, minutes=m), todo_id=m % 3) for m in range(9)]
    archive(*events)

    report = run_replay(
        topology_addresses,
        Selection(subjects=frozenset({"todos/1", "todos/2"})),
        notifier_target(topology_addresses),
        dry_run=True,
    )

    assert [e.id for e in report.selected] == [e.id for e in events if e.subject != "todos/0"]


def test_dry_run_counts_per_type_and_sends_nothing(topology_addresses):
    sqs = make_client("sqs")
    archive(todo_changed(DAY + timedelta(hours=1)), todo_changed(DAY + timedelta(hours=20), version=2))
    archive(todo_changed(DAY + timedelta(days=2)))

    report = run_replay(topology_addresses, WINDOW, TopicTarget(topology_addresses.topic_arn, "type"), dry_run=True)

    assert (report.found, report.sent) == (2, 0)
    assert summary_table(report).splitlines()[1].split() == ["2", "TodoChanged"]
    for service in ("notifier", "ical-worker", "todo-api", "event-archiver"):
        assert depth(sqs, topology_addresses.queues[service].url) == (0, 0)


def test_max_sends_the_first_arrived_and_counts_the_rest_as_skipped(topology_addresses):
    events = [todo_changed(DAY + timedelta(hours=hour), version=hour + 1) for hour in (5, 1, 3)]
    archive(*events)

    report = run_replay(topology_addresses, WINDOW, notifier_target(topology_addresses), max_events=2)

    assert [e.id for e in report.selected] == [events[0].id, events[1].id]
    assert (report.sent, report.beyond_max, report.skipped) == (2, 1, 1)


def test_the_rate_limit_spaces_the_batches(topology_addresses):
    archive(*[todo_changed(DAY + timedelta(minutes=minute), version=minute + 1) for minute in range(25)])
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 6))
        now[0] += seconds

    report = run_replay(
        topology_addresses,
        WINDOW,
        notifier_target(topology_addresses),
        events_per_second=10,
        clock=lambda: now[0],
        sleep=sleep,
    )

    # Batches of 10, 10 and 5 at 10 events a second: the second waits 1 s, the third 2 s after the start.
    assert report.sent == 25
    assert slept == [1.0, 1.0]


def test_calendar_requests_older_than_their_snapshots_are_left_out(topology_addresses):
    cutoff = DAY + timedelta(hours=12)
    stale, fresh = (
        event_at(time, CalendarRequested(job_id=f"job-{n}", todo_count=0, todos=[]), f"calendars/job-{n}")
        for n, time in enumerate((cutoff - timedelta(seconds=1), cutoff))
    )
    change = todo_changed(DAY + timedelta(hours=1))
    archive(stale, fresh, change)

    report = run_replay(
        topology_addresses, WINDOW, TopicTarget(topology_addresses.topic_arn, "type"), calendar_requests_since=cutoff
    )

    assert [e.id for e in report.selected] == [fresh.id, change.id]
    assert (report.expired_calendar_requests, report.skipped) == (1, 1)
    assert "1 calendar requests older than their snapshots" in summary_table(report)


def test_a_replay_without_a_window_or_all_is_refused_and_sends_nothing(topology_addresses):
    archive(todo_changed(DAY))
    taskoverflow = str(Path(sys.executable).parent / "taskoverflow")

    refused = subprocess.run(
        [taskoverflow, "replay", "--type", "TodoChanged"], env=os.environ, capture_output=True, text=True, timeout=60
    )
    whole = subprocess.run(
        [taskoverflow, "replay", "--all", "--dry-run"], env=os.environ, capture_output=True, text=True, timeout=60
    )

    assert refused.returncode == 2
    assert "needs a window (--since and/or --until) or --all" in refused.stderr
    assert depth(make_client("sqs"), topology_addresses.queues["notifier"].url) == (0, 0)
    assert whole.returncode == 0, whole.stderr
    assert whole.stdout.splitlines()[-1] == "dry run to topic taskoverflow-events: would send 1, skipped 0, sent 0"


def test_the_command_line_lists_the_archive_and_dry_runs_a_replay(topology_addresses):
    sqs = make_client("sqs")
    inside, outside = todo_changed(DAY + timedelta(hours=1)), todo_changed(DAY + timedelta(days=3))
    archive(inside, outside)
    taskoverflow = str(Path(sys.executable).parent / "taskoverflow")
    window = ("--since", "2024-05-02", "--until", "2024-05-03T00:00:00+00:00")

    listed = subprocess.run(
        [taskoverflow, "archive", "list", *window], env=os.environ, capture_output=True, text=True, timeout=60
    )
    as_json = subprocess.run(
        [taskoverflow, "archive", "list", "--json"], env=os.environ, capture_output=True, text=True, timeout=60
    )
    dry = subprocess.run(
        [taskoverflow, "replay", *window, "--type", "TodoChanged", "--dry-run"],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert listed.returncode == 0, listed.stderr
    assert inside.id in listed.stdout and outside.id not in listed.stdout
    assert listed.stdout.splitlines()[-1] == "1 of 1 archived events in the selection"
    assert [json.loads(line)["id"] for line in as_json.stdout.splitlines()] == [inside.id, outside.id]
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == "dry run to topic taskoverflow-events: would send 1, skipped 0, sent 0"
    assert depth(sqs, topology_addresses.queues["notifier"].url) == (0, 0)


def test_since_after_until_is_refused():
    taskoverflow = str(Path(sys.executable).parent / "taskoverflow")

    finished = subprocess.run(
        [taskoverflow, "replay", "--since", "2024-05-03", "--until", "2024-05-02"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode != 0
    assert "--since must be before --until" in finished.stderr
