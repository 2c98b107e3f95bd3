"""Turn topology names into the ARNs and URLs the AWS APIs want, without hard-coded accounts."""

from __future__ import annotations

import os
from typing import Any


def topic_arn(sts: Any, topic_name: str, region: str) -> str:
    """The topic's ARN; TASKOVERFLOW_TOPIC_ARN wins so a deployment can skip the STS call."""
    override = os.environ.get("TASKOVERFLOW_TOPIC_ARN")
    if override:
        return override
    account = sts.get_caller_identity()["Account"]
    return f"arn:aws:sns:{region}:{account}:{topic_name}"


def queue_url(sqs: Any, queue_name: str) -> str:
    return sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
