"""Create the whole topology in an emulator (moto server or LocalStack). Safe to run twice.

On AWS, Terraform creates the same resources from the same topology.json; this command is for
`make run`, tests and compose's one-shot bootstrap. TASKOVERFLOW_DELIVERY=fifo creates the FIFO
variant (see topology.py) instead of the standard one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import structlog
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from taskoverflow_shared.addresses import topic_arn as resolve_topic_arn
from taskoverflow_shared.aws_clients import aws_region, make_client
from taskoverflow_shared.logging_setup import configure_logging
from taskoverflow_shared.topology import QueueSpec, Topology, UnknownDelivery, load_topology

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

log = structlog.get_logger("taskoverflow.bootstrap")


@dataclass(frozen=True)
class QueueAddresses:
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class TopologyAddresses:
    topic_arn: str
    queues: dict[str, QueueAddresses]
    bucket_name: str


def bootstrap(topology: Topology | None = None) -> TopologyAddresses:
    topology = topology or load_topology()
    sns, sqs, s3, sts = make_client("sns"), make_client("sqs"), make_client("s3"), make_client("sts")
    # As Terraform declares it: publishers send the event id as deduplication id anyway; content
    # deduplication only keeps a publisher that forgets one from being refused.
    topic_attributes = {"FifoTopic": "true", "ContentBasedDeduplication": "true"} if topology.is_fifo else {}
    topic_arn = sns.create_topic(Name=topology.topic_name, Attributes=topic_attributes)["TopicArn"]
    assert topic_arn == resolve_topic_arn(sts, topology.topic_name, aws_region()), "topic ARN mismatch"
    existing = _subscribed_endpoints(sns, topic_arn)
    queues = {}
    for spec in topology.queues.values():
        addresses = _ensure_queue(sqs, spec, topic_arn, topology)
        _ensure_subscription(sns, topic_arn, addresses.arn, spec, topology, existing)
        queues[spec.service] = addresses
    _ensure_bucket(s3, topology.bucket_name)
    log.info("topology_ready", topic_arn=topic_arn, queues=sorted(queues), bucket=topology.bucket_name)
    return TopologyAddresses(topic_arn=topic_arn, queues=queues, bucket_name=topology.bucket_name)


def _ensure_queue(sqs: SQSClient, spec: QueueSpec, topic_arn: str, topology: Topology) -> QueueAddresses:
    retention = str(topology.message_retention_seconds)
    # Content-based deduplication is the safety net for a sender without an explicit
    # deduplication id; our publisher and consumer always send one (the event or message id).
    kind: dict[QueueAttributeNameType, str] = (
        {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if topology.is_fifo else {}
    )
    dlq_url = _create_or_update_queue(sqs, spec.dlq_name, {**kind, "MessageRetentionPeriod": retention})
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = _create_or_update_queue(
        sqs,
        spec.name,
        {
            **kind,
            "VisibilityTimeout": str(spec.visibility_timeout_seconds),
            "ReceiveMessageWaitTimeSeconds": str(topology.receive_wait_time_seconds),
            "MessageRetentionPeriod": retention,
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}),
        },
    )
    queue_arn = _queue_arn(sqs, queue_url)
    only_the_topic_may_send = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(only_the_topic_may_send)})
    return QueueAddresses(url=queue_url, arn=queue_arn, dlq_url=dlq_url, dlq_arn=dlq_arn)


def _create_or_update_queue(sqs: SQSClient, name: str, attributes: dict[QueueAttributeNameType, str]) -> str:
    try:
        return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except ClientError as error:
        # CreateQueue refuses an existing queue whose attributes differ: update them instead.
        if error.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        # A queue's kind is fixed at creation: SetQueueAttributes must not be asked to change it.
        changeable: dict[QueueAttributeNameType, str] = {
            key: value for key, value in attributes.items() if key != "FifoQueue"
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes=changeable)
        return url


def _queue_arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _subscribed_endpoints(sns: SNSClient, topic_arn: str) -> dict[str, str]:
    endpoints: dict[str, str] = {}
    for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn):
        for subscription in page["Subscriptions"]:
            endpoints[subscription["Endpoint"]] = subscription["SubscriptionArn"]
    return endpoints


def _ensure_subscription(
    sns: SNSClient, topic_arn: str, queue_arn: str, spec: QueueSpec, topology: Topology, existing: dict[str, str]
) -> None:
    subscription_arn = existing.get(queue_arn)
    if subscription_arn is None:
        subscription_arn = sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=subscription_arn,
        AttributeName="RawMessageDelivery",
        AttributeValue="true" if spec.raw_message_delivery else "false",
    )
    policy = spec.filter_policy(topology.message_type_attribute)
    if policy is not None:
        sns.set_subscription_attributes(
            SubscriptionArn=subscription_arn, AttributeName="FilterPolicy", AttributeValue=json.dumps(policy)
        )


def _ensure_bucket(s3: S3Client, name: str) -> None:
    try:
        region = aws_region()
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            # The region comes from the environment; S3 itself refuses one it does not know.
            location = cast("BucketLocationConstraintType", region)
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": location})
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wait-seconds",
        type=float,
        default=0.0,
        help="keep retrying while the emulator is not reachable yet (it may be starting beside us)",
    )
    args = parser.parse_args(argv)
    configure_logging("bootstrap")
    try:
        load_topology()
    except UnknownDelivery as unknown:
        log.error("unknown_delivery", error=str(unknown))
        return 2
    deadline = time.monotonic() + args.wait_seconds
    while True:
        try:
            bootstrap()
            return 0
        except (EndpointConnectionError, ConnectionClosedError) as unreachable:
            if time.monotonic() > deadline:
                log.error("emulator_unreachable", error=str(unreachable))
                return 1
            time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
