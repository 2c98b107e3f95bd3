"""Reading queues in tests: how deep they are, and everything that arrives (deleted as read)."""

from __future__ import annotations

from tests.support.moto import wait_until


def depth(sqs, url: str) -> tuple[int, int]:
    """(visible, in flight) for a queue."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


def receive_all(sqs, url: str, expected: int, timeout: float = 10) -> list[dict]:
    """Receive (and delete) until `expected` messages have arrived; fail after `timeout`."""
    received: list[dict] = []

    def arrived() -> bool:
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
        )
        for message in response.get("Messages", []):
            received.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(received) >= expected

    wait_until(arrived, timeout=timeout, message=f"{expected} messages on {url}")
    return received
