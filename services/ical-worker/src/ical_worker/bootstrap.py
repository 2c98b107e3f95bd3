"""Wire the handlers to real adapters (AWS through boto3) or to whatever fakes a test passes in."""

from __future__ import annotations

from functools import partial
from operator import attrgetter
from typing import Any

from ical_worker.adapters.s3_calendars import S3CalendarStore
from ical_worker.adapters.s3_feeds import S3FeedStore
from ical_worker.adapters.s3_snapshots import S3SnapshotReader
from ical_worker.adapters.sns_events import SnsEventPublisher
from ical_worker.adapters.sqs_messages import todo_change
from ical_worker.config import FeedSettings, Settings
from ical_worker.domain import CalendarRenderer, SnapshotDecoder
from ical_worker.feed_handlers import update_feeds
from ical_worker.handlers import on_calendar_requested
from ical_worker.ports import CalendarStore, FeedStore, Publish, SnapshotReader
from taskoverflow_shared.addresses import topic_arn
from taskoverflow_shared.aws_clients import aws_region, make_client
from taskoverflow_shared.batch_mode import BatchMode
from taskoverflow_shared.heartbeat import Liveness
from taskoverflow_shared.metrics import Metrics, process_metrics
from taskoverflow_shared.sns_publisher import CoalescingPublisher, SnsPublisher
from taskoverflow_shared.sqs_consumer import Handler, SqsConsumer
from taskoverflow_shared.topology import load_topology
from taskoverflow_shared.worker_runtime import Startup

# A feed is a few hundred KB at most; a short read timeout keeps a stuck request (with its
# retries) well inside the visibility timeout of the batch it writes.
S3_READ_TIMEOUT_SECONDS = 10.0
# Receive at most once a second while changes trickle in (never longer than a flush interval).
BATCHING_WINDOW_SECONDS = 1.0


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


def bootstrap_feed(
    settings: FeedSettings,
    startup: Startup | None = None,
    *,
    sqs: Any | None = None,
    feeds: FeedStore | None = None,
    renderer: CalendarRenderer | None = None,
) -> SqsConsumer:
    """The live-feed consumer: the shared loop in batch mode on the feed queue, writing to S3
    (or to the fakes a test passes in)."""
    feeds = feeds or S3FeedStore(make_client("s3", read_timeout=S3_READ_TIMEOUT_SECONDS), settings.bucket)
    liveness = Liveness()
    return SqsConsumer.on_queue(
        settings,
        startup,
        sqs=sqs,
        handlers={},
        liveness=liveness,
        batch=BatchMode(
            decode=todo_change,
            handle=partial(
                update_feeds,
                feeds=feeds,
                renderer=renderer or CalendarRenderer(settings.cache_size),
                keys_of=load_topology().feed_keys,
                concurrency=settings.concurrency,
                progress=liveness.tick,
            ),
            max_messages=settings.flush_events,
            max_age_seconds=settings.flush_seconds,
            envelope_of=attrgetter("envelope"),
        ),
        batching_window_seconds=min(BATCHING_WINDOW_SECONDS, settings.flush_seconds),
    )
