"""boto3 clients built one way for every service, with a count of the AWS API calls they make.

boto3 reads AWS_ENDPOINT_URL itself, so the same code talks to moto, LocalStack or AWS.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections import Counter
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"


class AwsCallCounter:
    """Counts API operations per `service.Operation`; benchmarks read it to price a job in calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any) -> Any:
        client.meta.events.register("before-call", self._count)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def write_on_exit(self, path: str) -> None:
        """At exit, write the counts to `path`; a `{pid}` in it keeps forked workers (gunicorn) apart."""

        def write() -> None:
            with open(path.replace("{pid}", str(os.getpid())), "w") as stats_file:
                json.dump(self.snapshot(), stats_file)

        atexit.register(write)


AWS_CALLS = AwsCallCounter()
if os.environ.get("AWS_CALL_STATS_FILE"):
    AWS_CALLS.write_on_exit(os.environ["AWS_CALL_STATS_FILE"])


def aws_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def make_client(service_name: str, *, read_timeout: float = 30.0) -> Any:
    """A counted boto3 client. `read_timeout` must exceed SQS's 20 s long poll."""
    config = Config(
        region_name=aws_region(),
        connect_timeout=5,
        read_timeout=read_timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=20,
    )
    return AWS_CALLS.attach(boto3.session.Session().client(service_name, config=config))
