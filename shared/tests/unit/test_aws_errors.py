"""Which AWS failures a caller that keeps its work should wait out, and which it should give up on."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from taskoverflow_shared.aws_errors import is_retryable


def answered(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="http://s3"),
        ConnectTimeoutError(endpoint_url="http://s3"),
        ReadTimeoutError(endpoint_url="http://s3"),
        answered("InternalError", 500),
        answered("ServiceUnavailable", 503),
        answered("SlowDown", 503),
        answered("Throttling", 400),
        answered("Whatever", 429),
    ],
)
def test_outages_and_throttling_are_worth_waiting_out(error):
    assert is_retryable(error)


@pytest.mark.parametrize(
    "error",
    [answered("AccessDenied", 403), answered("NoSuchBucket", 404), answered("InvalidParameter", 400), ValueError("x")],
)
def test_what_waiting_cannot_fix_is_not(error):
    assert not is_retryable(error)
