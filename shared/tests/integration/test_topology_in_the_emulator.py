"""The bootstrap creates the declared topology in a real moto server and in LocalStack, and SNS
routes each event type to every queue that consumes it (fan-out by filter policy)."""

import json

from taskoverflow_shared.aws_clients import make_client
from taskoverflow_shared.bootstrap_topology import bootstrap
from taskoverflow_shared.events import CalendarFailed, CalendarReady, CalendarRequested, TodoChanged, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher
from taskoverflow_shared.topology import load_topology
from tests.support.sqs import receive_all

TODO = {"id": 1, "title": "t", "completed": False, "created_at": "x", "updated_at": "x"}


def test_bootstrap_twice_is_harmless_and_keeps_one_subscription_per_queue(topology_on_each_emulator):
    again = bootstrap()
    assert again == topology_on_each_emulator
    sns = make_client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=again.topic_arn)["Subscriptions"]
    assert sorted(s["Endpoint"] for s in subscriptions) == sorted(q.arn for q in again.queues.values())


def test_queues_have_a_dead_letter_queue_with_the_declared_redrive_count(topology_on_each_emulator):
    sqs = make_client("sqs")
    for service, spec in load_topology().queues.items():
        addresses = topology_on_each_emulator.queues[service]
        attributes = sqs.get_queue_attributes(QueueUrl=addresses.url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == addresses.dlq_arn
        assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
        assert attributes["VisibilityTimeout"] == str(spec.visibility_timeout_seconds)
        assert json.loads(attributes["Policy"])["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == (
            topology_on_each_emulator.topic_arn
        )


def test_filter_policies_route_each_event_type_only_to_the_queues_that_consume_it(topology_on_each_emulator):
    publisher = SnsPublisher(make_client("sns"), topology_on_each_emulator.topic_arn)
    sha = "a" * 64
    events = [
        TodoChanged(action="created", todo=TODO, version=1),
        CalendarRequested(job_id="j", todo_count=0, todos=[]),
        CalendarReady(job_id="j", bucket="b", key="k", size_bytes=1, event_count=0, sha256=sha),
        CalendarFailed(job_id="j", reason="r"),
    ]
    envelopes = [new_envelope(e, source="test", correlation_id="c") for e in events]
    assert publisher.publish(envelopes) == {e.id for e in envelopes}

    sqs = make_client("sqs")
    for service, spec in load_topology().queues.items():
        expected = sorted(spec.event_types or [e.event_type for e in events])
        received = receive_all(sqs, topology_on_each_emulator.queues[service].url, len(expected))
        assert sorted(json.loads(message["Body"])["type"] for message in received) == expected
