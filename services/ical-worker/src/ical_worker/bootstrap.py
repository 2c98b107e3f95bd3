"""Wire the handlers to real adapters (AWS through boto3) or to whatever fakes a test passes in."""

from __future__ import annotations

from functools import partial

from ical_worker.adapters.s3_calendars import S3CalendarStore
from ical_worker.adapters.s3_snapshots import S3SnapshotReader
from ical_worker.adapters.sns_events import SnsEventPublisher
from ical_worker.config import Settings
from ical_worker.domain import CalendarRenderer, SnapshotDecoder
from ical_worker.handlers import on_calendar_requested
from ical_worker.ports import CalendarStore, Publish, SnapshotReader
from taskoverflow_shared.addresses import topic_arn
from taskoverflow_shared.aws_clients import aws_region, make_client
from taskoverflow_shared.metrics import Metrics, process_metrics
from taskoverflow_shared.sns_publisher import CoalescingPublisher, SnsPublisher
from taskoverflow_shared.sqs_consumer import Handler


def bootstrap(
    settings: Settings,
    *,
    snapshots: SnapshotReader | None = None,
    calendars: CalendarStore | None = None,
    publish: Publish | None = None,
    renderer: CalendarRenderer | None = None,
    decoder: SnapshotDecoder | None = None,
    metrics: Metrics | None = None,
) -> dict[str, Handler]:
    """The handler table `{event type: handler}` the shared SqsConsumer dispatches on.

    Every dependency left out is built for real. The renderer and the decoder (and their
    caches) live as long as the process, so consecutive jobs share them.
    """
    if snapshots is None or calendars is None:
        s3 = make_client("s3")
        snapshots = snapshots or S3SnapshotReader(s3)
        calendars = calendars or S3CalendarStore(s3)
    if publish is None:
        arn = topic_arn(make_client("sts"), settings.topic_name, aws_region())
        # Jobs handled side by side announce their outcomes in shared PublishBatch requests.
        publish = SnsEventPublisher(
            CoalescingPublisher(SnsPublisher(make_client("sns"), arn, type_attribute=settings.message_type_attribute))
        )
    handle_calendar_requested = partial(
        on_calendar_requested,
        snapshots=snapshots,
        calendars=calendars,
        publish=publish,
        renderer=renderer or CalendarRenderer(settings.cache_size),
        decoder=decoder or SnapshotDecoder(settings.cache_size),
        layout=settings.layout,
        metrics=metrics or process_metrics(),
    )
    return {"CalendarRequested": handle_calendar_requested}
