"""Fakes for the notifier's ports, and real local receivers (HTTP, SMTP) and processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from notifier.adapters.calendar_jobs import RequestedJob
from notifier.domain.deliveries import DeliveryResult
from notifier.domain.mail import Mail
from notifier.domain.signing import WebhookRequest
from notifier.handlers import Channels
from tests.support.moto import free_port
from tests.support.webhook_sink import WebhookSink

SECRET = "whsec_bm90aWZpZXItdGVzdHMtd2ViaG9vay1rZXktMDAwMQ=="


# --- fakes -------------------------------------------------------------------------------------


@dataclass
class FakeWebhookSender:
    """Records requests; answers from a per-URL script of results, then DELIVERED."""

    scripts: dict[str, list[DeliveryResult]] = field(default_factory=dict)
    sent: list[WebhookRequest] = field(default_factory=list)

    def send(self, request: WebhookRequest, *, deadline: float) -> DeliveryResult:
        self.sent.append(request)
        script = self.scripts.get(request.url)
        return script.pop(0) if script else DeliveryResult.delivered("HTTP 200", 1)

    def urls(self) -> list[str]:
        return [request.url for request in self.sent]


@dataclass
class FakeMailer:
    script: list[DeliveryResult] = field(default_factory=list)
    sent: list[Mail] = field(default_factory=list)

    def send(self, mail: Mail, *, deadline: float) -> DeliveryResult:
        self.sent.append(mail)
        return self.script.pop(0) if self.script else DeliveryResult.delivered("accepted", 1)


@dataclass
class InMemoryDeliveryLog:
    delivered: set[tuple[str, str]] = field(default_factory=set)

    def was_delivered(self, event_id: str, target: str) -> bool:
        return (event_id, target) in self.delivered

    def record_delivered(self, event_id: str, target: str) -> None:
        self.delivered.add((event_id, target))


@dataclass
class InMemoryCalendarJobs:
    jobs: dict[str, RequestedJob] = field(default_factory=dict)

    def record(self, job: RequestedJob) -> None:
        self.jobs.setdefault(job.job_id, job)

    def get(self, job_id: str) -> RequestedJob | None:
        return self.jobs.get(job_id)


@pytest.fixture
def calendar_jobs() -> InMemoryCalendarJobs:
    return InMemoryCalendarJobs()


@pytest.fixture
def fake_webhooks() -> FakeWebhookSender:
    return FakeWebhookSender()


@pytest.fixture
def fake_mailer() -> FakeMailer:
    return FakeMailer()


@pytest.fixture
def delivery_log() -> InMemoryDeliveryLog:
    return InMemoryDeliveryLog()


@pytest.fixture
def make_channels(fake_webhooks, fake_mailer, delivery_log, calendar_jobs):
    """Channels wired to the fakes; keyword arguments override any field. An outcome for a job
    not in `calendar_jobs` gives up at once instead of waiting for its request."""

    def make(**overrides) -> Channels:
        settings = {
            "subscriptions": (),
            "webhooks": fake_webhooks,
            "delivery_log": delivery_log,
            "calendar_jobs": calendar_jobs,
            "unknown_job_grace_seconds": 0.0,
            "retry_budget_seconds": 5.0,
            "mailer": fake_mailer,
            "mail_settings": None,
        } | overrides
        return Channels(**settings)

    return make


# --- real local receivers ----------------------------------------------------------------------


@pytest.fixture
def webhook_sink():
    """Start WebhookSinks on 127.0.0.1 (verifying with SECRET unless told otherwise); all stop after."""
    sinks: list[WebhookSink] = []

    def start(statuses=(), secret: str | None = SECRET) -> WebhookSink:
        sink = WebhookSink(secret=secret, statuses=statuses).start()
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        sink.stop()


class RecordingSmtpHandler:
    """aiosmtpd handler keeping every accepted message; can refuse recipients with a given reply."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelope_recipients: list[list[str]] = []
        self.raw: list[bytes] = []
        self.rcpt_replies: list[str] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            reply = self.rcpt_replies.pop(0) if self.rcpt_replies else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.envelope_recipients.append(list(envelope.rcpt_tos))
            self.raw.append(envelope.content)
        return "250 Message accepted for delivery"


@dataclass
class SmtpSink:
    handler: RecordingSmtpHandler
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.handler.messages)


@pytest.fixture
def smtp_sink():
    """A real SMTP server (aiosmtpd) in this process, on a free port of 127.0.0.1."""
    handler = RecordingSmtpHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield SmtpSink(handler, controller.port)
    controller.stop()


# --- the notifier as a real process ------------------------------------------------------------


@dataclass
class NotifierProcess:
    process: subprocess.Popen
    log_path: os.PathLike

    def output(self) -> str:
        with open(self.log_path) as log:
            return log.read()


@pytest.fixture
def notifier_process(tmp_path):
    """Start the `notifier` console script with the test's environment plus `env`.

    At teardown it is stopped with SIGTERM and must exit 0: the graceful stop is part of the test.
    """
    started: list[NotifierProcess] = []

    def start(env: dict[str, str]) -> NotifierProcess:
        executable = shutil.which("notifier", path=os.path.dirname(sys.executable))
        assert executable, "the notifier console script is not installed (pip install -e services/notifier)"
        log_path = tmp_path / f"notifier-{len(started)}.log"
        full_env = os.environ | {"NOTIFIER_DELIVERY_DB": str(tmp_path / "deliveries.sqlite3")} | env
        with open(log_path, "wb") as log:
            process = subprocess.Popen([executable], env=full_env, stdout=log, stderr=subprocess.STDOUT)
        started.append(NotifierProcess(process, log_path))
        return started[-1]

    yield start
    for notifier in started:
        if notifier.process.poll() is None:
            notifier.process.send_signal(signal.SIGTERM)
        try:
            code = notifier.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            notifier.process.kill()
            notifier.process.wait()
            raise AssertionError(f"notifier ignored SIGTERM:\n{notifier.output()}") from None
        assert code == 0, f"notifier exited with {code}:\n{notifier.output()}"
