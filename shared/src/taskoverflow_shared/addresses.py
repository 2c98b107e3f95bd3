"""Turn topology names into the ARNs and URLs the AWS APIs want, without hard-coded accounts."""

from __future__ import annotations

import os
import time
from typing import Any

from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

# The query protocol says the first, the JSON protocol (botocore >= 1.31) the second.
_MISSING_QUEUE_CODES = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


def topic_arn(sts: Any, topic_name: str, region: str) -> str:
    """The topic's ARN; TASKOVERFLOW_TOPIC_ARN wins so a deployment can skip the STS call."""
    override = os.environ.get("TASKOVERFLOW_TOPIC_ARN")
    if override:
        return override
    account: str = sts.get_caller_identity()["Account"]
    return f"arn:aws:sns:{region}:{account}:{topic_name}"


def queue_url(sqs: Any, queue_name: str, wait_seconds: float = 60.0) -> str:
    """The queue's URL, waiting while the emulator or the bootstrap is still starting.

    Services start beside the bootstrap (in `make run` and compose), so the queue may not exist
    for a few seconds; on AWS it exists before any task starts and the first call answers.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            url: str = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
            return url
        except (EndpointConnectionError, ConnectionClosedError, ClientError) as error:
            missing = isinstance(error, ClientError) and error.response["Error"]["Code"] in _MISSING_QUEUE_CODES
            if isinstance(error, ClientError) and not missing:
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
