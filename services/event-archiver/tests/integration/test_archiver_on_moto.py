"""The archiver (the shared loop in batch mode) on a moto server: dead letters, and S3 failing then back."""

from event_archiver.bootstrap import bootstrap
from event_archiver.config import Settings
from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.event_archive import read_archive
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.sqs_consumer import DEAD_LETTER_REASON_ATTRIBUTE
from tests.support.moto import wait_until
from tests.support.sqs import depth, receive_all

FAST = {"EVENT_ARCHIVER_FLUSH_SECONDS": "0.2", "EVENT_ARCHIVER_RECEIVE_WAIT_SECONDS": "0"}


def archived_ids(addresses) -> list[str]:
    return [event.envelope.id for event in read_archive(make_client("s3"), addresses.bucket_name, "event-archive/")]


def test_a_malformed_body_goes_to_the_dlq_with_its_reason_and_the_events_behind_it_are_archived(
    topology_addresses, envelopes
):
    sqs = make_client("sqs")
    queue = topology_addresses.queues["event-archiver"]
    sqs.send_message(QueueUrl=queue.url, MessageBody="{not json")
    published = [envelopes.todo_changed(1), envelopes.calendar_requested(), envelopes.todo_changed(2)]
    SnsPublisher(make_client("sns"), topology_addresses.topic_arn).publish(published)
    archive = bootstrap(Settings.from_environment(FAST))

    wait_until(
        lambda: archive.poll_once() and len(archived_ids(topology_addresses)) == 3, timeout=10, message="the archive"
    )

    assert archived_ids(topology_addresses) == [envelope.id for envelope in published]
    [dead] = receive_all(sqs, queue.dlq_url, 1)
    assert dead["Body"] == "{not json"
    assert dead["MessageAttributes"][DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"].startswith("invalid envelope")
    wait_until(lambda: depth(sqs, queue.url) == (0, 0), timeout=5, message="an empty archive queue")


def test_while_s3_refuses_the_puts_the_events_stay_in_the_queue_and_are_archived_once_it_is_back(
    topology_addresses, envelopes
):
    sqs, s3 = make_client("sqs"), make_client("s3")
    queue = topology_addresses.queues["event-archiver"]
    # A failed batch comes back after the visibility timeout: short here, so the test is quick.
    sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "1"})
    s3.delete_bucket(Bucket=topology_addresses.bucket_name)
    published = [envelopes.todo_changed(version) for version in range(1, 4)]
    SnsPublisher(make_client("sns"), topology_addresses.topic_arn).publish(published)
    archive = bootstrap(Settings.from_environment(FAST | {"EVENT_ARCHIVER_FLUSH_EVENTS": "3"}))

    wait_until(lambda: archive.poll_once().failed, timeout=10, message="a failed batch")

    assert archive.held == 0
    assert sum(depth(sqs, queue.url)) == 3  # none deleted: all return
    s3.create_bucket(Bucket=topology_addresses.bucket_name)
    wait_until(
        lambda: archive.poll_once() and len(archived_ids(topology_addresses)) == 3,
        timeout=10,
        message="the archive after S3 is back",
    )
    assert archived_ids(topology_addresses) == [envelope.id for envelope in published]
    wait_until(lambda: depth(sqs, queue.url) == (0, 0), timeout=5, message="an empty archive queue")


def test_on_fifo_delivery_a_malformed_body_goes_to_the_fifo_dlq_in_its_group(moto_server, monkeypatch, envelopes):
    from taskoverflow_shared.bootstrap_topology import bootstrap as bootstrap_topology

    monkeypatch.setenv("TASKOVERFLOW_DELIVERY", "fifo")
    moto_server.reset()
    addresses = bootstrap_topology()
    sqs = make_client("sqs")
    queue = addresses.queues["event-archiver"]
    assert queue.url.endswith("taskoverflow-event-archiver.fifo")
    sqs.send_message(QueueUrl=queue.url, MessageBody="{not json", MessageGroupId="todos/9")
    published = [envelopes.todo_changed(1), envelopes.todo_changed(2)]
    SnsPublisher(make_client("sns"), addresses.topic_arn).publish(published)
    archive = bootstrap(Settings.from_environment(FAST))

    wait_until(lambda: archive.poll_once() and len(archived_ids(addresses)) == 2, timeout=10, message="the archive")

    assert archived_ids(addresses) == [envelope.id for envelope in published]
    response = sqs.receive_message(
        QueueUrl=queue.dlq_url,
        WaitTimeSeconds=1,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["MessageGroupId"],
    )
    [dead] = response["Messages"]
    assert (dead["Body"], dead["Attributes"]["MessageGroupId"]) == ("{not json", "todos/9")
    assert dead["MessageAttributes"][DEAD_LETTER_REASON_ATTRIBUTE]["StringValue"].startswith("invalid envelope")
