"""The publisher adapter must not let an event SNS refused pass as published."""

from __future__ import annotations

import pytest

from ical_worker.adapters.sns_events import PublishRejected, SnsEventPublisher
from taskoverflow_shared.events import CalendarFailed, new_envelope
from taskoverflow_shared.sns_publisher import SnsPublisher


class RefusingSns:
    """Answers PublishBatch the way SNS does when it refuses an entry (e.g. throttled or KMS error)."""

    def publish_batch(self, TopicArn: str, PublishBatchRequestEntries: list[dict]) -> dict:
        return {
            "Successful": [],
            "Failed": [
                {"Id": entry["Id"], "Code": "InternalError", "SenderFault": False}
                for entry in PublishBatchRequestEntries
            ],
        }


def test_an_event_sns_refused_raises_so_the_job_is_retried() -> None:
    envelope = new_envelope(CalendarFailed(job_id="j", reason="r"), source="ical-worker", correlation_id="c")
    publish = SnsEventPublisher(SnsPublisher(RefusingSns(), "arn:aws:sns:us-east-1:123456789012:t"))

    with pytest.raises(PublishRejected, match="did not accept CalendarFailed"):
        publish(envelope)
