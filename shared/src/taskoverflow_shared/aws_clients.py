"""boto3 clients built one way for every service.

boto3 reads AWS_ENDPOINT_URL itself, so the same code talks to moto, LocalStack or AWS.
(Benchmarks count the calls from outside the process: bench/aws_calls.py.)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

DEFAULT_REGION = "us-east-1"


def aws_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


@overload
def make_client(service_name: Literal["s3"], *, read_timeout: float = ...) -> S3Client: ...
@overload
def make_client(service_name: Literal["sns"], *, read_timeout: float = ...) -> SNSClient: ...
@overload
def make_client(service_name: Literal["sqs"], *, read_timeout: float = ...) -> SQSClient: ...
@overload
def make_client(service_name: Literal["sts"], *, read_timeout: float = ...) -> STSClient: ...
@overload
def make_client(service_name: str, *, read_timeout: float = ...) -> Any: ...
def make_client(service_name: str, *, read_timeout: float = 30.0) -> Any:
    """A boto3 client. `read_timeout` must exceed SQS's 20 s long poll."""
    config = Config(
        region_name=aws_region(),
        connect_timeout=5,
        read_timeout=read_timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=20,
    )
    # The stubs overload client() on each literal service name; a name held in a str matches none.
    return boto3.session.Session().client(service_name, config=config)  # type: ignore[call-overload]
