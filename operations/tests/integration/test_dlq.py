"""`taskoverflow dlq` against a real moto server: list with reasons, redrive home with attributes, purge."""

import json
import os
import subprocess
import sys
from pathlib import Path

from taskoverflow_operations.dlq import (
    NO_REASON,
    RedriveOptions,
    final_line,
    list_dead_letters,
    listing_text,
    redrive,
    summary_table,
)
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarFailed, TodoChanged, new_envelope
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE
from tests.support.sqs import depth, receive_all

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}
# A zero-second poll keeps the tests quick; moto answers short polls from the whole queue.
QUICK = {"wait_seconds": 0}


def string(value):
    return {"DataType": "String", "StringValue": value}


def dead_letter(sqs, dlq_url, event, reason=None, **extra_attributes):
    """Put a message in the DLQ as the consumer loop (with a reason) or SQS's redrive (without) would."""
    envelope = new_envelope(event, source="test", correlation_id="corr-1")
    attributes = {"type": string(envelope.type), "correlationid": string("corr-1"), **extra_attributes}
    if reason is not None:
        attributes[DEAD_LETTER_REASON_ATTRIBUTE] = string(reason)
    sqs.send_message(QueueUrl=dlq_url, MessageBody=envelope.model_dump_json(), MessageAttributes=attributes)
    return envelope.model_dump_json(), attributes


def test_redrive_moves_dead_letters_back_with_their_attributes_but_without_the_reason(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    sent = [
        dead_letter(sqs, queue.dlq_url, TodoChanged(action="created", todo=TODO, version=1), reason="webhook 500"),
        dead_letter(
            sqs,
            queue.dlq_url,
            CalendarFailed(job_id="j", reason="r"),
            reason="no handler",
            checksum={"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        ),
        dead_letter(sqs, queue.dlq_url, TodoChanged(action="deleted", todo=TODO, version=2)),
    ]

    report = redrive(sqs, dlq_url=queue.dlq_url, source_url=queue.url, options=RedriveOptions(**QUICK), progress=False)

    assert (report.moved, report.skipped, report.failed) == (3, 0, 0)
    expected = {body: {k: v for k, v in attrs.items() if k != DEAD_LETTER_REASON_ATTRIBUTE} for body, attrs in sent}
    arrived = {m["Body"]: m["MessageAttributes"] for m in receive_all(sqs, queue.url, 3)}
    assert arrived == expected
    assert depth(sqs, queue.dlq_url) == (0, 0)


def test_dry_run_counts_by_reason_and_type_moves_nothing_and_leaves_the_dlq_visible(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    dead_letter(sqs, queue.dlq_url, TodoChanged(action="created", todo=TODO, version=1), reason="webhook 500")
    dead_letter(sqs, queue.dlq_url, TodoChanged(action="updated", todo=TODO, version=2), reason="webhook 500")
    dead_letter(sqs, queue.dlq_url, CalendarFailed(job_id="j", reason="r"))

    report = redrive(
        sqs, dlq_url=queue.dlq_url, source_url=queue.url, options=RedriveOptions(dry_run=True, **QUICK), progress=False
    )

    assert report.moved == 0
    assert dict(report.selected) == {("webhook 500", "TodoChanged"): 2, (NO_REASON, "CalendarFailed"): 1}
    table = summary_table(report).splitlines()
    assert table[1].split() == ["2", "TodoChanged", "webhook", "500"]
    assert final_line(report, "dlq", "source") == "dry run dlq -> source: would move 3, skipped 0, moved 0"
    assert depth(sqs, queue.url) == (0, 0)
    # Released, not left hidden for the scan's visibility timeout.
    assert depth(sqs, queue.dlq_url) == (3, 0)


def test_reason_filter_moves_only_matching_messages_and_releases_the_others(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["ical-worker"]
    matching, _ = dead_letter(sqs, queue.dlq_url, CalendarFailed(job_id="a", reason="r"), reason="S3 Timeout on put")
    dead_letter(sqs, queue.dlq_url, CalendarFailed(job_id="b", reason="r"), reason="invalid envelope: data")
    dead_letter(sqs, queue.dlq_url, CalendarFailed(job_id="c", reason="r"))

    options = RedriveOptions(reason_contains="timeout", **QUICK)
    report = redrive(sqs, dlq_url=queue.dlq_url, source_url=queue.url, options=options, progress=False)

    assert (report.moved, report.skipped) == (1, 2)
    assert [m["Body"] for m in receive_all(sqs, queue.url, 1)] == [matching]
    assert depth(sqs, queue.dlq_url) == (2, 0)


def test_max_moves_at_most_n_messages_and_leaves_the_rest_in_the_dlq(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["todo-api"]
    for job in "abc":
        dead_letter(sqs, queue.dlq_url, CalendarFailed(job_id=job, reason="r"), reason="bug")

    options = RedriveOptions(max_messages=2, **QUICK)
    report = redrive(sqs, dlq_url=queue.dlq_url, source_url=queue.url, options=options, progress=False)

    assert report.moved == 2
    assert len(receive_all(sqs, queue.url, 2)) == 2
    assert depth(sqs, queue.dlq_url) == (1, 0)


class RefusedAtOnce:
    """An SQS client whose every message sent to `source_url` is dead-lettered again at once,
    as a consumer that still refuses it does (LocalStack's consumers take well under a second)."""

    def __init__(self, sqs, source_url, dlq_url):
        self._sqs, self._source_url, self._dlq_url = sqs, source_url, dlq_url

    def send_message_batch(self, QueueUrl, Entries):
        response = self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=Entries)
        if QueueUrl == self._source_url:
            self._sqs.send_message_batch(QueueUrl=self._dlq_url, Entries=Entries)
        return response

    def __getattr__(self, name):
        return getattr(self._sqs, name)


def test_a_message_dead_lettered_again_during_the_redrive_waits_for_the_next_one(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    dead_letter(sqs, queue.dlq_url, TodoChanged(action="created", todo=TODO, version=1), reason="still broken")

    report = redrive(
        RefusedAtOnce(sqs, queue.url, queue.dlq_url),
        dlq_url=queue.dlq_url,
        source_url=queue.url,
        options=RedriveOptions(**QUICK),
        progress=False,
    )

    assert (report.moved, report.skipped, report.failed) == (1, 0, 0)
    # The copy that came back is left (visible) for the next redrive, not moved round and round.
    assert depth(sqs, queue.dlq_url) == (1, 0)


def taskoverflow(*arguments, stdin=subprocess.DEVNULL):
    command = [str(Path(sys.executable).parent / "taskoverflow"), *arguments]
    return subprocess.run(command, env=os.environ, capture_output=True, text=True, stdin=stdin, timeout=60)


def test_console_script_redrives_and_exits_zero_with_a_final_count_line(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    dead_letter(sqs, queue.dlq_url, TodoChanged(action="created", todo=TODO, version=1), reason="webhook 500")

    finished = taskoverflow("dlq", "redrive", "notifier")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines()[-1] == (
        "redrive taskoverflow-notifier-dlq -> taskoverflow-notifier: moved 1, skipped 0, failed 0"
    )
    assert "msg" in finished.stderr  # the tqdm progress bar
    assert len(receive_all(sqs, queue.url, 1)) == 1


def test_list_counts_and_peeks_with_the_reason_and_leaves_every_message_visible(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["ical-worker"]
    body, _ = dead_letter(sqs, queue.dlq_url, CalendarFailed(job_id="a", reason="r"), reason="invalid envelope: data")
    dead_letter(sqs, queue.dlq_url, CalendarFailed(job_id="b", reason="r"))
    sqs.send_message(QueueUrl=queue.dlq_url, MessageBody="{not json")

    listing = list_dead_letters(sqs, queue.dlq_url, peek=2, **QUICK)

    assert (listing.visible, len(listing.peeked)) == (3, 2)
    assert depth(sqs, queue.dlq_url) == (3, 0)
    full = list_dead_letters(sqs, queue.dlq_url, peek=10, **QUICK)
    by_event_id = {message.event_id: message for message in full.peeked}
    event_id = json.loads(body)["id"]
    assert by_event_id[event_id].reason == "invalid envelope: data"
    assert by_event_id[event_id].event_type == "CalendarFailed"
    assert by_event_id[None].event_type == "(unknown)"
    assert sorted(m.reason for m in full.peeked).count(NO_REASON) == 2
    text = listing_text(full, "taskoverflow-ical-worker-dlq").splitlines()
    assert text[0] == "taskoverflow-ical-worker-dlq: 3 messages visible, 0 in flight"
    assert any(line.endswith("invalid envelope: data") and event_id in line for line in text)


def test_list_from_the_command_line_accepts_the_dlq_name(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["todo-api"]
    dead_letter(sqs, queue.dlq_url, CalendarFailed(job_id="a", reason="r"), reason="no handler")

    finished = taskoverflow("dlq", "list", "taskoverflow-todo-api-dlq")

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines()[0] == "taskoverflow-todo-api-dlq: 1 messages visible, 0 in flight"
    assert "no handler" in finished.stdout


def test_purge_asks_first_and_without_a_terminal_refuses_unless_told_yes(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    for version in (1, 2):
        dead_letter(sqs, queue.dlq_url, TodoChanged(action="created", todo=TODO, version=version), reason="x")

    refused = taskoverflow("dlq", "purge", "notifier")
    dry = taskoverflow("dlq", "purge", "notifier", "--dry-run")

    assert refused.returncode == 2
    assert "pass --yes" in refused.stderr
    assert dry.stdout.strip() == "dry run: would purge 2 messages from taskoverflow-notifier-dlq"
    assert depth(sqs, queue.dlq_url) == (2, 0)

    purged = taskoverflow("dlq", "purge", "notifier", "--yes")

    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.splitlines()[-1] == "purged taskoverflow-notifier-dlq: 2 messages deleted"
    assert depth(sqs, queue.dlq_url) == (0, 0)


def test_an_unknown_queue_is_refused_with_the_services_it_knows():
    finished = taskoverflow("dlq", "list", "nope")

    assert finished.returncode == 2
    assert (
        "no queue 'nope' in the topology; services: event-archiver, ical-feed-worker, ical-worker, notifier, todo-api"
        in finished.stderr
    )


def test_redrive_of_a_fifo_dlq_keeps_the_message_group_and_is_not_dropped_as_a_duplicate(moto_server):
    sqs = make_client("sqs")
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    source_url = sqs.create_queue(QueueName="redrive-test.fifo", Attributes=fifo)["QueueUrl"]
    dlq_url = sqs.create_queue(QueueName="redrive-test-dlq.fifo", Attributes=fifo)["QueueUrl"]
    body = '{"same": "body"}'
    # The first delivery went through the source queue moments ago: content-based deduplication
    # would drop a redriven copy of the same body for five minutes.
    sqs.send_message(QueueUrl=source_url, MessageBody=body, MessageGroupId="todo-7")
    receive_all(sqs, source_url, 1)
    sqs.send_message(QueueUrl=dlq_url, MessageBody=body, MessageGroupId="todo-7")

    report = redrive(sqs, dlq_url=dlq_url, source_url=source_url, options=RedriveOptions(**QUICK), progress=False)

    assert report.moved == 1
    response = sqs.receive_message(
        QueueUrl=source_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["MessageGroupId"]
    )
    [arrived] = response["Messages"]
    assert (arrived["Body"], arrived["Attributes"]["MessageGroupId"]) == (body, "todo-7")
