"""taskoverflow-redrive against a real moto server: dead letters go home with their attributes."""

import os
import subprocess
import sys
from pathlib import Path

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.events import CalendarFailed, TodoChanged, new_envelope
from taskoverflow_shared.operations.redrive import NO_REASON, RedriveOptions, final_line, redrive, summary_table
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
    attributes = {"type": string(envelope.type), "correlation_id": string("corr-1"), **extra_attributes}
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


def test_console_script_redrives_and_exits_zero_with_a_final_count_line(topology_addresses):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["notifier"]
    dead_letter(sqs, queue.dlq_url, TodoChanged(action="created", todo=TODO, version=1), reason="webhook 500")
    script = str(Path(sys.executable).parent / "taskoverflow-redrive")

    finished = subprocess.run([script, "--queue", "notifier"], env=os.environ, capture_output=True, text=True)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines()[-1] == (
        "redrive taskoverflow-notifier-dlq -> taskoverflow-notifier: moved 1, skipped 0, failed 0"
    )
    assert "msg" in finished.stderr  # the tqdm progress bar
    assert len(receive_all(sqs, queue.url, 1)) == 1
