"""`taskoverflow archive forget` against a real moto server, on an archive the event-archiver wrote:
events published to the topic, delivered to the archiver's queue and stored by its own handler."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from event_archiver.adapters.s3_archive_store import S3ArchiveStore
from event_archiver.adapters.sqs_messages import archive_entry
from event_archiver.handlers import store_batch
from taskoverflow_operations.archive_forget import Erasure, forget
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.batch_mode import HeldMessage
from taskoverflow_shared.event_archive import read_archive
from taskoverflow_shared.events import CalendarFailed, CalendarReady, CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.topology import load_topology
from tests.support.moto import wait_until

HOUR = datetime(2024, 5, 2, 9, tzinfo=UTC)
TODO = {"id": 1, "title": "private", "completed": False, "created_at": "x", "updated_at": "x"}


def todo_changed(todo_id: int, version: int, time: datetime, owner: str | None = None):
    data = TodoChanged(action="updated", todo={**TODO, "id": todo_id}, version=version, owner=owner)
    envelope = new_envelope(data, source="test", correlation_id="c", subject=f"todos/{todo_id}")
    return envelope.model_copy(update={"time": time})


def archived_by_the_event_archiver(addresses, batches):
    """Publish each batch, then let the archiver's handler store it as one flush."""
    topology = load_topology()
    sqs, s3 = make_client("sqs"), make_client("s3")
    publisher = SnsPublisher(make_client("sns"), addresses.topic_arn, topology.message_type_attribute)
    queue = addresses.queues["event-archiver"].url
    for batch in batches:
        publisher.publish(batch)
        held = received(sqs, queue, len(batch))
        store_batch(held, store=S3ArchiveStore(s3, topology.bucket_name), prefix=topology.event_archive_prefix)


def received(sqs, queue: str, expected: int) -> list[HeldMessage]:
    """Receive and decode as the archiver does (SentTimestamp is the arrival time)."""
    held: list[HeldMessage] = []

    def all_arrived() -> bool:
        response = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0, AttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            held.append(HeldMessage(message, archive_entry(message)))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return len(held) >= expected

    wait_until(all_arrived, timeout=10, message="the batch on the archiver's queue")
    return held


def archive_state():
    topology = load_topology()
    s3 = make_client("s3")
    keys = sorted(
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=topology.bucket_name, Prefix=topology.event_archive_prefix
        )
        for item in page.get("Contents", [])
    )
    events = read_archive(s3, topology.bucket_name, topology.event_archive_prefix)
    return keys, [event.envelope.id for event in events]


def run_forget(subjects=(), *, owners=(), dry_run):
    topology = load_topology()
    return forget(
        make_client("s3"),
        topology.bucket_name,
        topology.event_archive_prefix,
        Erasure(subjects=frozenset(subjects), owners=frozenset(owners)),
        dry_run=dry_run,
    )


def every_version_under_the_archive():
    """(key, version id, body) of every stored version, current or not."""
    topology = load_topology()
    s3 = make_client("s3")
    pages = s3.get_paginator("list_object_versions").paginate(
        Bucket=topology.bucket_name, Prefix=topology.event_archive_prefix
    )
    return [
        (
            version["Key"],
            version["VersionId"],
            s3.get_object(Bucket=topology.bucket_name, Key=version["Key"], VersionId=version["VersionId"])[
                "Body"
            ].read(),
        )
        for page in pages
        for version in page.get("Versions", [])
    ]


def calendar_event(data, time: datetime):
    envelope = new_envelope(data, source="test", correlation_id="c", subject=f"calendars/{data.job_id}")
    return envelope.model_copy(update={"time": time})


def test_forget_rewrites_the_archive_without_the_subject_and_deletes_emptied_objects(topology_addresses):
    mine = [todo_changed(7, version, HOUR + timedelta(minutes=version)) for version in (1, 2, 3)]
    others = [todo_changed(8, 1, HOUR + timedelta(minutes=5)), todo_changed(9, 1, HOUR + timedelta(hours=2))]
    # Three flushes: one mixes the subject with others, one holds only the subject, one not at all.
    archived_by_the_event_archiver(topology_addresses, [[mine[0], others[0]], [mine[1], mine[2]], [others[1]]])
    keys_before, events_before = archive_state()
    assert len(keys_before) == 3

    dry = run_forget(["todos/7"], dry_run=True)

    assert (dry.events_removed, dry.objects_rewritten, dry.objects_deleted, dry.objects_read) == (3, 1, 1, 3)
    assert archive_state() == (keys_before, events_before), "a dry run changes nothing"

    done = run_forget(["todos/7"], dry_run=False)

    assert (done.events_removed, done.objects_rewritten, done.objects_deleted) == (3, 1, 1)
    keys_after, events_after = archive_state()
    assert events_after == [others[0].id, others[1].id]
    assert len(keys_after) == 2 and keys_before[-1] in keys_after, "an object without the subject is untouched"
    again = run_forget(["todos/7"], dry_run=False)
    assert (again.events_removed, again.objects_rewritten, again.objects_deleted) == (0, 0, 0)
    assert archive_state() == (keys_after, events_after)


def test_kept_events_stay_byte_for_byte_and_an_interrupted_forget_finishes_on_the_next_run(topology_addresses):
    kept = todo_changed(8, 1, HOUR)
    failed = new_envelope(
        CalendarFailed(job_id="j", reason="deadline passed", notify_email="me@example.com"),
        source="test",
        correlation_id="c",
        subject="calendars/j",
    ).model_copy(update={"time": HOUR + timedelta(minutes=1)})
    archived_by_the_event_archiver(topology_addresses, [[kept, failed]])
    topology = load_topology()
    s3 = make_client("s3")
    (old_key,), _ = archive_state()
    old_line = s3.get_object(Bucket=topology.bucket_name, Key=old_key)["Body"].read().split(b"\n")[0]
    # Interrupted after the put, before the delete: the new object is there beside the old one.
    (rewrite,) = run_forget(["calendars/j"], dry_run=True).changes
    s3.put_object(Bucket=topology.bucket_name, Key=rewrite.key, Body=rewrite.body)

    run_forget(["calendars/j"], dry_run=False)

    keys, events = archive_state()
    assert (keys, events) == ([rewrite.key], [kept.id])
    body = s3.get_object(Bucket=topology.bucket_name, Key=rewrite.key)["Body"].read()
    assert body.split(b"\n")[0] == old_line
    assert b"me@example.com" not in body


def test_the_command_is_a_dry_run_unless_told_yes(topology_addresses):
    archived_by_the_event_archiver(topology_addresses, [[todo_changed(7, 1, HOUR)]])
    command = [sys.executable, "-m", "taskoverflow_operations", "archive", "forget", "--subject", "todos/7"]

    dry = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)

    assert (
        "dry run: would remove 1 events, rewriting 0 and deleting 1 of 1 archive objects, and deleting 0 old versions"
        in dry.stdout
    )
    assert len(archive_state()[1]) == 1
    done = subprocess.run([*command, "--yes"], capture_output=True, text=True, timeout=60, check=True)
    assert "removed 1 events: rewrote 0 and deleted 1 of 1 archive objects, and deleted 0 old versions" in done.stdout
    assert archive_state() == ([], [])


def test_in_a_versioned_bucket_no_old_version_keeps_an_erased_event(topology_addresses):
    topology = load_topology()
    s3 = make_client("s3")
    s3.put_bucket_versioning(Bucket=topology.bucket_name, VersioningConfiguration={"Status": "Enabled"})
    mine, kept = todo_changed(7, 1, HOUR), todo_changed(8, 1, HOUR + timedelta(minutes=1))
    earlier = todo_changed(7, 2, HOUR + timedelta(hours=1))
    archived_by_the_event_archiver(topology_addresses, [[mine, kept], [earlier]])
    # A plain delete, as a forget before old versions were looked at did: the object is gone
    # from listings, its data is not.
    (_, earlier_key), _ = archive_state()
    s3.delete_object(Bucket=topology.bucket_name, Key=earlier_key)

    dry = run_forget(["todos/7"], dry_run=True)

    assert (dry.events_removed, dry.objects_rewritten, dry.old_versions_deleted) == (1, 1, 1)
    done = run_forget(["todos/7"], dry_run=False)

    # The rewrite's delete left the first object's old version behind; it went too.
    assert (done.events_removed, done.objects_rewritten, done.old_versions_deleted) == (1, 1, 2)
    bodies = [body for _key, _version, body in every_version_under_the_archive()]
    assert bodies and not [body for body in bodies if mine.id.encode() in body or earlier.id.encode() in body]
    assert any(kept.id.encode() in body for body in bodies)
    assert archive_state()[1] == [kept.id]
    again = run_forget(["todos/7"], dry_run=False)
    assert (again.events_removed, again.old_versions_deleted) == (0, 0)


def test_forgetting_an_owner_erases_every_event_about_their_todos_and_calendars_and_no_one_elses(
    topology_addresses,
):
    created = todo_changed(7, 1, HOUR, owner="user-a")
    # The same todo's event from before owners were recorded: found through its subject.
    unowned = todo_changed(7, 2, HOUR + timedelta(minutes=1))
    requested = calendar_event(
        CalendarRequested(job_id="j", todo_count=0, todos=[], owner="user-a"), HOUR + timedelta(minutes=2)
    )
    ready = calendar_event(
        CalendarReady(
            job_id="j",
            bucket="b",
            key="calendars/j.ics",
            size_bytes=1,
            event_count=0,
            sha256="0" * 64,
            notify_email="ann@example.com",
        ),
        HOUR + timedelta(minutes=3),
    )
    someone_elses = todo_changed(8, 1, HOUR + timedelta(minutes=4), owner="user-b")
    archived_by_the_event_archiver(topology_addresses, [[created, unowned, requested], [ready, someone_elses]])

    done = run_forget(owners=["user-a"], dry_run=False)

    assert done.events_removed == 4
    assert archive_state()[1] == [someone_elses.id]


def test_the_command_needs_a_subject_or_an_owner(topology_addresses):
    command = [sys.executable, "-m", "taskoverflow_operations", "archive", "forget", "--yes"]

    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)

    assert refused.returncode == 2
    assert "name at least one --subject or --owner" in refused.stderr
