"""taskoverflow-replay against a real moto server: select from the archive, re-publish, keep the archive."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from taskoverflow_operations.replay import QueueTarget, Selection, TopicTarget, replay, summary_table
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarRequested, TodoChanged, new_envelope
from tests.support.sqs import depth, receive_all

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}
DAY = datetime(2024, 5, 2, tzinfo=UTC)
WINDOW = Selection(since=DAY, until=DAY + timedelta(days=1))
# A zero-second poll keeps the tests quick; moto answers short polls from the whole queue.
QUICK = {"wait_seconds": 0, "progress": False}


def event_at(time, data):
    return new_envelope(data, source="test", correlation_id="corr-1").model_copy(update={"time": time})


def todo_changed(time, version=1):
    return event_at(time, TodoChanged(action="updated", todo=TODO, version=version))


def archive(sqs, addresses, *envelopes, raw_bodies=()):
    """Put messages in the archive queue as the topic's raw delivery would (body + `type` attribute)."""
    url = addresses.queues["archive"].url
    for envelope in envelopes:
        attributes = {"type": {"DataType": "String", "StringValue": envelope.type}}
        sqs.send_message(QueueUrl=url, MessageBody=envelope.model_dump_json(), MessageAttributes=attributes)
    for body in raw_bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def event_id_or_body(body):
    try:
        return json.loads(body)["id"]
    except ValueError:
        return body


def archived_event_ids(sqs, addresses):
    """The event ids (or bodies, if not JSON) the archive holds, read without removing them."""
    url = addresses.queues["archive"].url
    ids, handles = [], []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=60
    ).get("Messages"):
        ids += [event_id_or_body(m["Body"]) for m in messages]
        handles += [m["ReceiptHandle"] for m in messages]
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return sorted(ids)


def archive_urls(addresses):
    return [addresses.queues["archive"].url, addresses.queues["archive"].dlq_url]


def test_replay_to_the_topic_routes_the_selected_events_by_type_and_the_archive_keeps_everything(topology_addresses):
    sqs, sns = make_client("sqs"), make_client("sns")
    first, second = todo_changed(DAY + timedelta(hours=9)), todo_changed(DAY + timedelta(hours=17), version=2)
    too_old = todo_changed(DAY - timedelta(hours=1))
    requested = event_at(DAY + timedelta(hours=10), CalendarRequested(job_id="j", todo_count=0, todos=[]))
    # SNS delivers at least once: the archive may hold the same event twice.
    archive(sqs, topology_addresses, second, first, too_old, requested, first, raw_bodies=["{not json"])

    report = replay(
        sqs,
        sns,
        archive_queue_urls=archive_urls(topology_addresses),
        selection=Selection(WINDOW.since, WINDOW.until, frozenset({"TodoChanged"})),
        target=TopicTarget(topology_addresses.topic_arn, "type"),
        **QUICK,
    )

    assert [e.id for e in report.selected] == [first.id, second.id]
    assert (report.replayed, report.failed, report.duplicates, report.unparseable) == (2, 0, 1, 1)
    notified = receive_all(sqs, topology_addresses.queues["notifier"].url, 2)
    assert sorted(json.loads(m["Body"])["id"] for m in notified) == sorted([first.id, second.id])
    assert {m["MessageAttributes"]["type"]["StringValue"] for m in notified} == {"TodoChanged"}
    # moto delivers to every subscription within the publish call: nothing more is on its way.
    assert depth(sqs, topology_addresses.queues["ical-worker"].url) == (0, 0)
    assert depth(sqs, topology_addresses.queues["todo-api"].url) == (0, 0)
    # The archive gave back its 6 messages and, subscribed to the topic, archived the 2 replays too.
    assert report.kept_in_archive == 6
    original = [second.id, first.id, too_old.id, requested.id, first.id, "{not json"]
    assert archived_event_ids(sqs, topology_addresses) == sorted([*original, first.id, second.id])


def test_replay_to_one_queue_sends_only_there_and_skips_types_that_queue_does_not_consume(topology_addresses):
    sqs, sns = make_client("sqs"), make_client("sns")
    changed = todo_changed(DAY + timedelta(hours=9))
    requested = event_at(DAY + timedelta(hours=10), CalendarRequested(job_id="j", todo_count=0, todos=[]))
    archive(sqs, topology_addresses, changed, requested)
    notifier = topology_addresses.queues["notifier"]

    report = replay(
        sqs,
        sns,
        archive_queue_urls=archive_urls(topology_addresses),
        selection=WINDOW,
        target=QueueTarget("notifier", notifier.url, ("TodoChanged", "CalendarReady", "CalendarFailed"), "type"),
        **QUICK,
    )

    assert (report.replayed, report.not_consumed_by_target) == (1, 1)
    [message] = receive_all(sqs, notifier.url, 1)
    assert json.loads(message["Body"])["id"] == changed.id
    assert message["MessageAttributes"]["type"] == {"DataType": "String", "StringValue": "TodoChanged"}
    for other in ("ical-worker", "todo-api"):
        assert depth(sqs, topology_addresses.queues[other].url) == (0, 0)
    # Nothing went through the topic, so the archive holds exactly what it held, all visible.
    assert depth(sqs, topology_addresses.queues["archive"].url) == (2, 0)


def test_dry_run_reports_count_and_time_range_per_type_and_sends_nothing(topology_addresses):
    sqs, sns = make_client("sqs"), make_client("sns")
    early, late = todo_changed(DAY + timedelta(hours=1)), todo_changed(DAY + timedelta(hours=20), version=2)
    archive(sqs, topology_addresses, late, early, todo_changed(DAY + timedelta(days=2)))

    report = replay(
        sqs,
        sns,
        archive_queue_urls=archive_urls(topology_addresses),
        selection=WINDOW,
        target=TopicTarget(topology_addresses.topic_arn, "type"),
        dry_run=True,
        **QUICK,
    )

    assert report.replayed == 0
    row = summary_table(report).splitlines()[1].split()
    assert row == ["2", "TodoChanged", early.time.isoformat(), late.time.isoformat()]
    for service in ("notifier", "ical-worker", "todo-api"):
        assert depth(sqs, topology_addresses.queues[service].url) == (0, 0)
    assert depth(sqs, topology_addresses.queues["archive"].url) == (3, 0)


def test_max_replays_the_oldest_selected_events(topology_addresses):
    sqs, sns = make_client("sqs"), make_client("sns")
    events = [todo_changed(DAY + timedelta(hours=hour), version=hour + 1) for hour in (5, 1, 3)]
    archive(sqs, topology_addresses, *events)

    report = replay(
        sqs,
        sns,
        archive_queue_urls=archive_urls(topology_addresses),
        selection=WINDOW,
        target=TopicTarget(topology_addresses.topic_arn, "type"),
        dry_run=True,
        max_events=2,
        **QUICK,
    )

    assert [e.id for e in report.selected] == [events[1].id, events[2].id]
    assert report.beyond_max == 1


def test_events_sqs_moved_to_the_archive_dlq_after_repeated_scans_are_still_found(topology_addresses):
    sqs, sns = make_client("sqs"), make_client("sns")
    queue = topology_addresses.queues["archive"]
    # Each scan is a receive: with maxReceiveCount 1 the second scan makes SQS move them to the DLQ.
    redrive_policy = {"deadLetterTargetArn": queue.dlq_arn, "maxReceiveCount": 1}
    sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"RedrivePolicy": json.dumps(redrive_policy)})
    events = [todo_changed(DAY + timedelta(hours=hour)) for hour in (1, 2)]
    archive(sqs, topology_addresses, *events)
    target = TopicTarget(topology_addresses.topic_arn, "type")

    reports = [
        replay(
            sqs,
            sns,
            archive_queue_urls=archive_urls(topology_addresses),
            selection=WINDOW,
            target=target,
            dry_run=True,
            **QUICK,
        )
        for _ in range(3)
    ]

    assert [len(report.selected) for report in reports] == [2, 2, 2]
    assert depth(sqs, queue.dlq_url) == (2, 0)


def test_console_script_dry_run_prints_the_selection_and_exits_zero(topology_addresses):
    sqs = make_client("sqs")
    archive(sqs, topology_addresses, todo_changed(DAY + timedelta(hours=1)))
    command = [
        str(Path(sys.executable).parent / "taskoverflow-replay"),
        *("--type", "TodoChanged", "--since", "2024-05-02", "--until", "2024-05-03T00:00:00+00:00", "--dry-run"),
    ]

    finished = subprocess.run(command, env=os.environ, capture_output=True, text=True)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines()[-1] == (
        "dry run: would replay 1 events to topic taskoverflow-events, sent 0; archive kept 1 messages"
    )
    assert "msg" in finished.stderr  # the tqdm progress bar
    assert depth(sqs, topology_addresses.queues["notifier"].url) == (0, 0)
