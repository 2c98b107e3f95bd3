"""Wires the todo API's parts: the message bus with its handlers, the views, and the relay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from taskoverflow_shared.addresses import topic_arn
from taskoverflow_shared.aws_clients import aws_region, make_client
from taskoverflow_shared.events import CalendarRequested
from taskoverflow_shared.metrics import Metrics, process_metrics
from taskoverflow_shared.sns_publisher import AcceptedOnlyReports, EventPublisher, ReportingPublisher, SnsPublisher
from taskoverflow_shared.topology import load_topology
from todo_api.adapters.calendar_feeds import S3CalendarFeeds
from todo_api.adapters.calendar_requests import CalendarRequestCompleter
from todo_api.adapters.calendar_storage import CalendarFiles, S3CalendarFiles, StorageUnavailable
from todo_api.adapters.database import DATABASE_UNAVAILABLE, make_engine, make_session_factory
from todo_api.adapters.feed_tokens import SqlFeedTokens
from todo_api.adapters.identity import JwksTokenVerifier, TokenVerifier
from todo_api.adapters.orm import start_mappers
from todo_api.adapters.outbox import OutboxRelay
from todo_api.adapters.repository import SqlAlchemyUnitOfWork
from todo_api.config import Settings
from todo_api.domain.model import CalendarLocations
from todo_api.handlers import HANDLERS
from todo_api.messagebus import MessageBus
from todo_api.views import CalendarDownloads, TodoViews

# The adapters' errors that mean a dependency cannot be reached now, and which one: the request
# was fine and may succeed later (the API answers 503 with Retry-After).
UNAVAILABLE_DEPENDENCIES: dict[type[Exception], str] = {
    StorageUnavailable: "storage",
    **{error: "database" for error in DATABASE_UNAVAILABLE},
}


@dataclass
class TodoApi:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    bus: MessageBus
    views: TodoViews
    calendar_files: CalendarFiles
    # Where each job's calendar is; the only objects a download may open.
    calendar_locations: CalendarLocations
    # Who holds which calendar feed token (digests only), and the feeds the ical-feed-worker writes.
    feed_tokens: SqlFeedTokens
    calendar_feeds: S3CalendarFeeds
    # None: authentication is off (no AUTH_JWKS_URL), every caller is anonymous.
    token_verifier: TokenVerifier | None = None

    @property
    def calendar_downloads(self) -> CalendarDownloads:
        return CalendarDownloads(self.views, self.calendar_files, self.calendar_locations)


def bootstrap(
    settings: Settings | None = None,
    *,
    calendar_files: CalendarFiles | None = None,
    calendar_feeds: S3CalendarFeeds | None = None,
    token_verifier: TokenVerifier | None = None,
) -> TodoApi:
    settings = settings or Settings.from_environment()
    start_mappers()
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    calendar_locations = topology_calendar_locations()
    if calendar_files is None:
        topology = load_topology()
        calendar_files = S3CalendarFiles(make_client("s3"), topology.bucket_name, topology.snapshot_prefix)
    if token_verifier is None and settings.auth_jwks_url and settings.auth_issuer and settings.auth_audience:
        token_verifier = JwksTokenVerifier.for_issuer(
            settings.auth_jwks_url, settings.auth_issuer, settings.auth_audience
        )
    return TodoApi(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        bus=build_bus(
            lambda: SqlAlchemyUnitOfWork(session_factory),
            settings.calendar_job_deadline_seconds,
            calendar_job_retention=timedelta(days=settings.calendar_job_retention_days),
            idempotency_key_retention=timedelta(hours=settings.idempotency_key_retention_hours),
            calendar_locations=calendar_locations,
        ),
        views=TodoViews(engine),
        calendar_files=calendar_files,
        calendar_locations=calendar_locations,
        feed_tokens=SqlFeedTokens(engine),
        calendar_feeds=calendar_feeds or S3CalendarFeeds(make_client("s3"), load_topology()),
        token_verifier=token_verifier,
    )


def build_bus(
    new_unit_of_work: Callable[[], object],
    calendar_job_deadline_seconds: float,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    calendar_job_retention: timedelta = timedelta(days=7),
    idempotency_key_retention: timedelta = timedelta(hours=24),
    metrics: Metrics | None = None,
    calendar_locations: CalendarLocations | None = None,
) -> MessageBus:
    """The bus with every handler; tests pass a fake unit of work and clock (and their own metrics)."""
    metrics = metrics or process_metrics()
    locations = calendar_locations or topology_calendar_locations()
    return MessageBus(
        HANDLERS,
        {
            "uow": new_unit_of_work,
            "now": lambda: now,
            "calendar_job_deadline_seconds": lambda: calendar_job_deadline_seconds,
            "calendar_job_retention": lambda: calendar_job_retention,
            "idempotency_key_retention": lambda: idempotency_key_retention,
            "metrics": lambda: metrics,
            "calendar_locations": lambda: locations,
        },
    )


def topology_calendar_locations() -> CalendarLocations:
    """Where the ical-worker stores calendars, as topology.json declares it."""
    topology = load_topology()
    return CalendarLocations(topology.bucket_name, topology.calendar_prefix)


def build_relay(api: TodoApi, publisher: EventPublisher | ReportingPublisher | None = None) -> OutboxRelay:
    """The relay with the real SNS publisher, or `publisher` (a plain one names no reasons for
    what it refuses, so the relay treats every refusal as one worth retrying)."""
    if publisher is None:
        topology = load_topology()
        publisher = SnsPublisher(
            make_client("sns"),
            topic_arn(make_client("sts"), topology.topic_name, aws_region()),
            topology.message_type_attribute,
        )
    completer = CalendarRequestCompleter(api.calendar_files, api.settings.inline_todos_max_bytes)
    reporting = publisher if hasattr(publisher, "publish_reporting") else AcceptedOnlyReports(publisher)
    return OutboxRelay(
        api.session_factory,
        api.engine,
        reporting,
        {CalendarRequested.event_type: completer},
        batch_size=api.settings.relay_batch_size,
        publish_threads=api.settings.relay_publish_threads,
        max_attempts=api.settings.outbox_max_attempts,
        retention=timedelta(hours=api.settings.outbox_retention_hours),
    )
