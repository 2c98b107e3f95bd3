"""The messaging and storage modules, applied for real to moto server, route every event type
to exactly the queues topology.json says, with each queue wired to its own dead-letter queue;
the FIFO variant does the same through ".fifo" resources and keeps a message group in order.

The plan-based tests cannot see ARNs (they are known only after apply); this one can, and it
publishes through the applied topics to prove the filter policies and raw delivery work. It
takes about a minute and a half (the AWS provider's own consistency waits), so it runs in
`make infra-check` (INFRA_CHECK=1) rather than in every pytest run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.infra.offline_terraform import FIXTURES, OfflineTerraform, of_type, why_terraform_cannot_run

EVENT_TYPES = ("TodoChanged", "CalendarRequested", "CalendarReady", "CalendarFailed")
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}

pytestmark = pytest.mark.skipif(
    os.environ.get("INFRA_CHECK") != "1",
    reason="applies Terraform to moto (~90 s): runs in `make infra-check`, or set INFRA_CHECK=1",
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server_module = pytest.importorskip("moto.server", reason="moto[server] is installed by scripts/infra_check.sh")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def applied(emulator, tmp_path_factory) -> dict[str, Any]:
    """The Terraform state after applying the fixture to the emulator."""
    reason = why_terraform_cannot_run()
    if reason:
        pytest.skip(reason)
    terraform = OfflineTerraform(FIXTURES / "emulator", tmp_path_factory.mktemp("tf-emulator"), EMULATOR_CREDENTIALS)
    terraform.init()
    state_file = terraform.data_dir / "terraform.tfstate"
    terraform.apply(f"-var=endpoint={emulator}", f"-state={state_file}")
    return terraform.state(str(state_file))


@pytest.fixture(scope="module")
def aws(emulator):
    boto3 = pytest.importorskip("boto3")

    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=emulator,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


STANDARD, FIFO = "module.messaging", "module.messaging_fifo"


def _by_service(state: dict[str, Any], resource_type: str, name: str, module: str = STANDARD) -> dict[str, dict[str, Any]]:
    prefix = f"{module}.{resource_type}.{name}["
    return {r["index"]: r["values"] for address, r in of_type(state, resource_type).items() if address.startswith(prefix)}


def _topic_arn(state: dict[str, Any], module: str = STANDARD) -> str:
    return of_type(state, "aws_sns_topic")[f"{module}.aws_sns_topic.events"]["values"]["arn"]


def _drain(sqs, queue_name: str) -> list[str]:
    """Every body in the queue, in the order received, deleting as it goes."""
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    bodies = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
        bodies += [message["Body"] for message in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    return bodies


def test_each_queue_dead_letters_into_its_own_dlq_after_the_topology_receive_count(applied, topology):
    queues = _by_service(applied, "aws_sqs_queue", "service")
    dead_letter_queues = _by_service(applied, "aws_sqs_queue", "dead_letter")

    for service, spec in topology["queues"].items():
        redrive = json.loads(queues[service]["redrive_policy"])
        assert redrive["deadLetterTargetArn"] == dead_letter_queues[service]["arn"], service
        assert int(redrive["maxReceiveCount"]) == spec["max_receive_count"], service


def test_each_subscription_delivers_to_its_own_queue(applied, topology):
    queues = _by_service(applied, "aws_sqs_queue", "service")
    subscriptions = _by_service(applied, "aws_sns_topic_subscription", "service")
    topic_arn = _topic_arn(applied)

    for service in topology["queues"]:
        assert subscriptions[service]["endpoint"] == queues[service]["arn"], service
        assert subscriptions[service]["topic_arn"] == topic_arn, service


def test_only_the_events_topic_may_send_to_a_queue(applied, topology):
    queues = _by_service(applied, "aws_sqs_queue", "service")
    policies = _by_service(applied, "aws_sqs_queue_policy", "only_topic_may_send")
    topic_arn = _topic_arn(applied)

    for service in topology["queues"]:
        allow = next(s for s in json.loads(policies[service]["policy"])["Statement"] if s["Effect"] == "Allow")
        assert allow["Principal"] == {"Service": "sns.amazonaws.com"}, service
        assert allow["Resource"] == queues[service]["arn"], service
        assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": topic_arn}}, service


ROLE = "arn:aws:iam::123456789012:role/fixture-{}-task"
OPERATOR = "arn:aws:iam::123456789012:role/fixture-operator"


def _statements(policy: str) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in json.loads(policy)["Statement"]}


def test_queue_policies_deny_every_sender_but_the_topic(applied, topology):
    queues = _by_service(applied, "aws_sqs_queue", "service")
    policies = _by_service(applied, "aws_sqs_queue_policy", "only_topic_may_send")
    topic_arn = _topic_arn(applied)

    for service in topology["queues"]:
        deny = _statements(policies[service]["policy"])["DenyEverySenderButTheTopic"]
        assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:SendMessage"), service
        assert deny["Resource"] == queues[service]["arn"], service
        # Both must hold to deny: not delivered by the topic, and not an operator redriving.
        assert deny["Condition"] == {
            "ArnNotEquals": {"aws:SourceArn": topic_arn},
            "ArnNotLike": {"aws:PrincipalArn": OPERATOR},
        }, service


def test_each_dead_letter_queue_admits_only_its_own_consumer(applied, topology):
    dead_letter_queues = _by_service(applied, "aws_sqs_queue", "dead_letter")
    policies = _by_service(applied, "aws_sqs_queue_policy", "only_consumer_may_dead_letter")

    assert set(policies) == set(topology["queues"])
    for service in topology["queues"]:
        deny = _statements(policies[service]["policy"])["DenyEverySenderButTheConsumer"]
        assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sqs:SendMessage"), service
        assert deny["Resource"] == dead_letter_queues[service]["arn"], service
        assert deny["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": ROLE.format(service)}}, service


def test_only_producers_may_publish(applied, topology):
    for module in (STANDARD, FIFO):
        policy = of_type(applied, "aws_sns_topic_policy")[f"{module}.aws_sns_topic_policy.only_producers_may_publish"]["values"]
        deny = _statements(policy["policy"])["DenyEveryPublisherButTheProducers"]
        producers = sorted(service for service, event_types in topology["publishers"].items() if event_types)

        assert policy["arn"] == _topic_arn(applied, module)
        assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sns:Publish")
        assert deny["Resource"] == _topic_arn(applied, module)
        assert sorted(deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"]) == sorted(
            [ROLE.format(service) for service in producers] + [OPERATOR]
        )


def _refuses_plain_transport(policy: str, action: str, resources: list[str]) -> bool:
    deny = _statements(policy).get("DenyUnencryptedTransport")
    return deny is not None and (
        deny["Effect"],
        deny["Principal"],
        deny["Action"],
        sorted([deny["Resource"]] if isinstance(deny["Resource"], str) else deny["Resource"]),
        deny["Condition"],
    ) == ("Deny", "*", action, sorted(resources), {"Bool": {"aws:SecureTransport": "false"}})


def test_every_queue_dead_letter_queue_topic_and_bucket_refuses_plain_transport(applied, aws, topology):
    queues = _by_service(applied, "aws_sqs_queue", "service")
    dead_letter_queues = _by_service(applied, "aws_sqs_queue", "dead_letter")
    queue_policies = _by_service(applied, "aws_sqs_queue_policy", "only_topic_may_send")
    dead_letter_policies = _by_service(applied, "aws_sqs_queue_policy", "only_consumer_may_dead_letter")
    topic_policy = of_type(applied, "aws_sns_topic_policy")[f"{STANDARD}.aws_sns_topic_policy.only_producers_may_publish"]
    bucket = topology["bucket"]["name"]
    bucket_arn = f"arn:aws:s3:::{bucket}"

    for service in topology["queues"]:
        assert _refuses_plain_transport(queue_policies[service]["policy"], "sqs:*", [queues[service]["arn"]]), service
        assert _refuses_plain_transport(
            dead_letter_policies[service]["policy"], "sqs:*", [dead_letter_queues[service]["arn"]]
        ), service
    assert _refuses_plain_transport(topic_policy["values"]["policy"], "sns:Publish", [_topic_arn(applied)])
    assert _refuses_plain_transport(
        aws("s3").get_bucket_policy(Bucket=bucket)["Policy"], "s3:*", [bucket_arn, f"{bucket_arn}/*"]
    )


def test_every_event_type_reaches_exactly_the_queues_that_subscribe_to_it(applied, aws, topology):
    sns, sqs = aws("sns"), aws("sqs")
    topic_arn = _topic_arn(applied)
    type_attribute = topology["message_type_attribute"]

    for event_type in EVENT_TYPES:
        sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps({"type": event_type}),
            MessageAttributes={type_attribute: {"DataType": "String", "StringValue": event_type}},
        )

    for service, spec in topology["queues"].items():
        # Raw delivery: the body is the published message itself, not an SNS envelope.
        received = sorted(json.loads(body)["type"] for body in _drain(sqs, spec["name"]))
        expected = sorted(EVENT_TYPES if spec["event_types"] is None else spec["event_types"])
        assert received == expected, service


# --- delivery = fifo ---------------------------------------------------------------------------


def test_the_fifo_variant_names_every_resource_as_the_topology_does_plus_fifo(applied, topology):
    topic = of_type(applied, "aws_sns_topic")[f"{FIFO}.aws_sns_topic.events"]["values"]
    queues = _by_service(applied, "aws_sqs_queue", "service", FIFO)
    dead_letter_queues = _by_service(applied, "aws_sqs_queue", "dead_letter", FIFO)

    assert topic["name"] == f"{topology['topic']['name']}.fifo"
    assert topic["arn"].endswith(":" + topic["name"])
    assert topic["fifo_topic"] is True
    for service, spec in topology["queues"].items():
        assert queues[service]["arn"].endswith(f":{spec['name']}.fifo"), service
        assert dead_letter_queues[service]["arn"].endswith(f":{spec['dlq_name']}.fifo"), service
        assert queues[service]["fifo_queue"] is dead_letter_queues[service]["fifo_queue"] is True, service
        redrive = json.loads(queues[service]["redrive_policy"])
        assert redrive["deadLetterTargetArn"] == dead_letter_queues[service]["arn"], service


def test_the_fifo_variant_routes_like_the_standard_one_and_keeps_a_message_group_in_order(applied, aws, topology):
    sns, sqs = aws("sns"), aws("sqs")
    topic_arn = _topic_arn(applied, FIFO)
    type_attribute = topology["message_type_attribute"]
    # One todo's history, twice over: a FIFO queue must hand it back in exactly this order.
    # No deduplication id is sent: the topic deduplicates by content, and the bodies differ.
    published = [(event_type, sequence) for sequence in range(2) for event_type in EVENT_TYPES]

    for event_type, sequence in published:
        sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps({"type": event_type, "sequence": sequence}),
            MessageAttributes={type_attribute: {"DataType": "String", "StringValue": event_type}},
            MessageGroupId="todo-1",
        )

    for service, spec in topology["queues"].items():
        received = [(body["type"], body["sequence"]) for body in map(json.loads, _drain(sqs, f"{spec['name']}.fifo"))]
        expected = [(t, n) for t, n in published if spec["event_types"] is None or t in spec["event_types"]]
        assert received == expected, service


# --- storage ------------------------------------------------------------------------------------


def test_the_calendars_bucket_is_private_encrypted_versioned_and_expires_old_objects(applied, aws, topology):
    s3 = aws("s3")
    bucket = topology["bucket"]["name"]

    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]

    assert all(block.values()) and len(block) == 4
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert {rule.get("Filter", {}).get("Prefix") for rule in rules if "Days" in rule.get("Expiration", {})} == {
        topology["bucket"]["calendar_prefix"],
        topology["bucket"]["snapshot_prefix"],
    }
    archive = next(rule for rule in rules if rule.get("Filter", {}).get("Prefix") == topology["bucket"]["event_archive_prefix"])
    assert "Expiration" not in archive
    assert [transition["StorageClass"] for transition in archive["Transitions"]] == ["GLACIER_IR"]
