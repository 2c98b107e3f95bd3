"""Every queue of the topology and its DLQ: visible, in flight, delayed, and the oldest message's age.

The counts come from GetQueueAttributes, live, on AWS, LocalStack and moto alike. SQS has no
attribute for the oldest message's age, so it comes from one of two places:

- CloudWatch's `ApproximateAgeOfOldestMessage` (AWS/SQS, the newest one-minute maximum of the
  last ten minutes), one GetMetricData call for all queues. AWS publishes it for every queue;
  LocalStack (4.13) and moto publish no SQS metrics, so offline it has no datapoint.
- Otherwise a *peek*: a receive with VisibilityTimeout=0, so the messages are visible again at
  once, and the age of the oldest SentTimestamp among those returned. That is done on the DLQs
  only, by default. A receive counts towards a message's maxReceiveCount (5 here), and SQS
  moves a message that exceeds it to the DLQ: a `--watch` peeking every few seconds at a queue
  whose consumer is down would dead-letter that queue's healthy backlog within a minute. A DLQ
  has no redrive policy, so peeking there changes nothing. `--peek-age` peeks at the service
  queues too, once (never with `--watch`), for an operator who accepts one receive per message.

A peek on a standard queue on AWS samples some of its servers, so its age is a lower bound; on
the emulators it is exact. SQS's own redrive keeps a message's first SentTimestamp, so a DLQ's
age counts from when the event was first delivered, not from when it was dead-lettered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from taskoverflow_operations.status.readings import (
    AgeSource,
    QueueDepth,
    QueuesStatus,
    ServiceQueues,
    Unavailable,
)
from taskoverflow_shared.sqs_batches import SQS_BATCH_LIMIT
from taskoverflow_shared.topology import Topology

AWS_ERRORS = (BotoCoreError, ClientError)
# SQS itself cannot be reached: every other queue would only wait out the same timeouts.
ENDPOINT_DOWN = (EndpointConnectionError, ConnectTimeoutError)
_COUNT_ATTRIBUTES = {
    "visible": "ApproximateNumberOfMessages",
    "in_flight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}
# SQS publishes its metrics once a minute, a few minutes late; ten minutes of history finds the newest.
_CLOUDWATCH_LOOKBACK = timedelta(minutes=10)
# A one-second long poll asks every SQS server, so a peek at a non-empty queue finds a message.
_PEEK_WAIT_SECONDS = 1


@dataclass(frozen=True)
class _Counts:
    visible: int
    in_flight: int
    delayed: int

    @property
    def empty(self) -> bool:
        return self.visible == 0 and self.in_flight == 0 and self.delayed == 0


@dataclass
class QueueDepthReader:
    """Reads every queue of `topology` and its DLQ; keeps queue URLs between looks (`--watch`)."""

    sqs: Any
    cloudwatch: Any
    topology: Topology
    peek_service_queues: bool = False
    clock: Callable[[], float] = time.time
    _urls: dict[str, str] = field(default_factory=dict, init=False)

    def read(self) -> QueuesStatus:
        counts: dict[str, _Counts | Unavailable] = {}
        endpoint_down: Unavailable | None = None
        for spec in self.topology.queues.values():
            for name in (spec.name, spec.dlq_name):
                if endpoint_down is not None:
                    counts[name] = endpoint_down
                    continue
                try:
                    counts[name] = self._counts(name)
                except ENDPOINT_DOWN as error:
                    endpoint_down = counts[name] = Unavailable.because(error)
        readable = [name for name, found in counts.items() if isinstance(found, _Counts)]
        cloudwatch_ages, cloudwatch_unavailable = self._cloudwatch_ages(readable)
        dead_letter_queues = {spec.dlq_name for spec in self.topology.queues.values()}
        depths = {
            name: found
            if isinstance(found, Unavailable)
            else self._depth(name, found, cloudwatch_ages.get(name), peek=name in dead_letter_queues)
            for name, found in counts.items()
        }
        return QueuesStatus(
            services=[
                ServiceQueues(
                    service=spec.service,
                    queue_name=spec.name,
                    dlq_name=spec.dlq_name,
                    queue=depths[spec.name],
                    dlq=depths[spec.dlq_name],
                )
                for spec in self.topology.queues.values()
            ],
            cloudwatch_unavailable=cloudwatch_unavailable,
        )

    def _url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]

    def _counts(self, name: str) -> _Counts | Unavailable:
        try:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self._url(name), AttributeNames=list(_COUNT_ATTRIBUTES.values())
            )["Attributes"]
        except ENDPOINT_DOWN:
            raise
        except AWS_ERRORS as error:
            # A queue deleted and created again has a new URL on some emulators: ask afresh next time.
            self._urls.pop(name, None)
            return Unavailable.because(error)
        return _Counts(**{key: int(attributes.get(attribute, 0)) for key, attribute in _COUNT_ATTRIBUTES.items()})

    def _depth(self, name: str, counts: _Counts, cloudwatch_age: float | None, *, peek: bool) -> QueueDepth:
        age: float | None = None
        source: AgeSource = "not measured"
        if counts.empty:
            # Fresher than CloudWatch, whose newest datapoint is a minute or more old.
            source = "empty"
        elif cloudwatch_age is not None:
            age, source = cloudwatch_age, "cloudwatch"
        elif (peek or self.peek_service_queues) and counts.visible:
            age = self._peeked_age(name)
            source = "peek" if age is not None else "not measured"
        return QueueDepth(counts.visible, counts.in_flight, counts.delayed, age, source)

    def _cloudwatch_ages(self, names: list[str]) -> tuple[dict[str, float], str | None]:
        """The newest ApproximateAgeOfOldestMessage per queue that has one, and why none came, if so."""
        if not names:
            return {}, None
        now = datetime.fromtimestamp(self.clock(), UTC)
        queries = [
            {
                "Id": f"q{index}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [{"Name": "QueueName", "Value": name}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
                "ReturnData": True,
            }
            for index, name in enumerate(names)
        ]
        ages: dict[str, float] = {}
        try:
            # Up to 500 queries per call: one call covers the topology's queues.
            for page in self.cloudwatch.get_paginator("get_metric_data").paginate(
                MetricDataQueries=queries,
                StartTime=now - _CLOUDWATCH_LOOKBACK,
                EndTime=now,
                ScanBy="TimestampDescending",
            ):
                for result in page.get("MetricDataResults", []):
                    name = names[int(result["Id"][1:])]
                    if result.get("Values") and name not in ages:
                        ages[name] = float(result["Values"][0])
        except AWS_ERRORS as error:
            return {}, Unavailable.because(error).reason
        return ages, None

    def _peeked_age(self, name: str) -> float | None:
        try:
            messages = self.sqs.receive_message(
                QueueUrl=self._url(name),
                MaxNumberOfMessages=SQS_BATCH_LIMIT,
                VisibilityTimeout=0,
                WaitTimeSeconds=_PEEK_WAIT_SECONDS,
                MessageSystemAttributeNames=["SentTimestamp"],
            ).get("Messages", [])
        except AWS_ERRORS:
            return None
        sent = [int(message["Attributes"]["SentTimestamp"]) for message in messages if "Attributes" in message]
        if not sent:
            return None
        return round(max(0.0, self.clock() - min(sent) / 1000), 1)
