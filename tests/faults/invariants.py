"""What every fault scenario asserts once the fault is gone and the system has caught up."""

from __future__ import annotations

import json
from collections import Counter

import requests
import sqlalchemy

from taskoverflow_shared.event_archive import scan_archive
from taskoverflow_shared.topology import load_topology
from tests.faults.workload import Ledger
from tests.support.moto import wait_until
from tests.support.system import CONSUMED_QUEUES, RunningSystem

# The log line each consuming process writes once it has done its work for an event.
DONE_LINES = {"api-consumer": "event_handled", "ical-worker": "event_handled", "notifier": "event_handled"}
DONE_LINES["event-archiver"] = "event_archived"
DONE_LINES["ical-feed-worker"] = "feed_event_handled"


def assert_nothing_lost(
    system: RunningSystem,
    ledger: Ledger,
    *,
    database_url: str,
    timeout: float = 240,
    dead_letters: dict[str, int] | None = None,
) -> dict:
    """Every acknowledged write is there, every event reached every subscribed consumer and the
    archive once, every job finished, no request answered 5xx but 503, nothing is left in flight,
    and the DLQs hold exactly `dead_letters` (DLQ name → count; none by default).
    Returns the counts a closing note quotes."""
    assert not ledger.server_errors, f"server errors: {ledger.server_errors}"
    finished = _wait_for_jobs(ledger, timeout)
    system.wait_until_idle(timeout=timeout)

    listed = {todo["id"]: todo for todo in requests.get(f"{system.api_url}/api/v1/todos", timeout=60).json()}
    missing = set(ledger.todos) - set(listed) - ledger.in_doubt
    unexpected = set(listed) - set(ledger.todos) - ledger.in_doubt
    assert not missing, f"acknowledged todos missing: {sorted(missing)[:10]}"
    # A create that got no answer may have happened: at most that many todos nobody acknowledged.
    assert len(unexpected) <= ledger.creates_in_doubt, f"todos nobody created: {sorted(unexpected)[:10]}"
    changed = [
        todo_id for todo_id, todo in ledger.todos.items() if todo_id not in ledger.in_doubt and listed[todo_id] != todo
    ]
    assert not changed, f"todos differ from what the API acknowledged: {changed[:10]}"

    events = _outbox_events(database_url)
    topology = load_topology()
    handled = {process: _done_event_ids(system, process) for process in CONSUMED_QUEUES}
    for process, queue in CONSUMED_QUEUES.items():
        consumed = topology.queue_for(queue).event_types
        expected = {event_id for event_id, event_type in events if consumed is None or event_type in consumed}
        missing = expected - set(handled[process])
        assert not missing, f"{process} never handled {len(missing)} events, e.g. {sorted(missing)[:3]}"

    scan = scan_archive(system.client("s3"), topology.bucket_name, topology.event_archive_prefix)
    archived = Counter(event.envelope.id for event in scan.events)
    assert {event_id for event_id, _ in events} <= set(archived), "an outbox event is missing from the archive"
    assert max(archived.values(), default=1) == 1

    expected_dead_letters = {name: count for name, count in (dead_letters or {}).items() if count}
    found_dead_letters = {name: count for name, count in _dead_letter_depths(system).items() if count}
    assert found_dead_letters == expected_dead_letters
    return {
        "acknowledged_todos": len(ledger.todos),
        "events": len(events),
        "jobs": Counter(status["task_status"] for status in finished),
        "redelivered_handlings": {process: sum(c - 1 for c in ids.values()) for process, ids in handled.items()},
        "archive_duplicate_copies": scan.duplicates_skipped,
        "statuses": dict(ledger.statuses),
        "unanswered_requests": ledger.statuses[0],
    }


def _wait_for_jobs(ledger: Ledger, timeout: float) -> list[dict]:
    def statuses():
        found = [requests.get(url, timeout=30).json() for url in ledger.task_urls]
        return found if all(status["task_status"] in ("SUCCESS", "FAILURE") for status in found) else None

    finished = wait_until(statuses, timeout=timeout, interval=1, message="every calendar job to finish")
    failed_without_reason = [s for s in finished if s["task_status"] == "FAILURE" and not s.get("error")]
    assert not failed_without_reason, failed_without_reason
    return finished


def _outbox_events(database_url: str) -> list[tuple[str, str]]:
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text("SELECT event_id, event_type FROM outbox")).all()
    finally:
        engine.dispose()
    return [(row.event_id, row.event_type) for row in rows]


def _done_event_ids(system: RunningSystem, process: str) -> Counter[str]:
    done = Counter()
    for line in system.log(process).splitlines():
        if DONE_LINES[process] in line:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == DONE_LINES[process] and record.get("event_id"):
                done[record["event_id"]] += 1
    return done


def _dead_letter_depths(system: RunningSystem) -> dict[str, int]:
    sqs = system.client("sqs")
    depths = {}
    for spec in load_topology().queues.values():
        url = sqs.get_queue_url(QueueName=spec.dlq_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        depths[spec.dlq_name] = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
    return depths
