"""A webhook receiver that hangs for 30 s — it accepts connections and never answers — while
clients write and ask for calendars: the notifier waits it out without being restarted, and then
delivers every webhook, each event once."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

from notifier.domain.subscriptions import webhook_event_types
from taskoverflow_shared.event_archive import scan_archive
from taskoverflow_shared.topology import load_topology
from tests.faults.invariants import assert_nothing_lost
from tests.faults.outage import Outage
from tests.faults.workload import Ledger, run_writes
from tests.support.moto import wait_until
from tests.support.tcp_proxy import TcpProxy
from tests.support.webhook_sink import WebhookSink

HANG_SECONDS = 30
SECRET = "whsec_ZmF1bHRzLXdlYmhvb2staGFuZ3Mta2V5LTAwMDE="
# What decides a restart: the image's health check fails on a heartbeat older than this.
HEALTH_CHECK_MAX_AGE_SECONDS = 60


class HeartbeatWatch:
    """Samples the age of a worker's heartbeat file until stopped; remembers the oldest seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.oldest_seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="heartbeat-watch", daemon=True)

    def __enter__(self) -> HeartbeatWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self.oldest_seconds = max(self.oldest_seconds, time.time() - self.path.stat().st_mtime)


def delivered_event_ids(sink: WebhookSink) -> Counter[str]:
    """Each webhook the receiver answered 2xx, by the id of the event it carried."""
    return Counter(json.loads(webhook.body)["id"] for webhook in sink.received if 200 <= webhook.answered < 300)


def test_a_webhook_receiver_hanging_for_30_s_under_load_delays_webhooks_but_loses_and_repeats_none(
    start_faulty_system,
):
    started = time.monotonic()
    with WebhookSink(secret=SECRET) as sink:
        receiver = TcpProxy(target_port=int(sink.url.rsplit(":", 1)[1])).start()
        system = start_faulty_system(
            "webhook-receiver-hangs",
            extra_env={
                "NOTIFIER_WEBHOOK_URLS": f"{receiver.url}/hooks",
                "NOTIFIER_WEBHOOK_SECRET": SECRET,
                "NOTIFIER_ALLOW_PRIVATE_TARGETS": "true",
            },
        )
        notifier = system.processes["notifier"]
        ledger = Ledger()
        outage = Outage(cut=receiver.hang, restore=receiver.resume, seconds=HANG_SECONDS)

        with HeartbeatWatch(system.directory / "notifier.heartbeat") as heartbeat:
            outage.during(
                ledger, lambda: run_writes(system.api_url, ledger, writes=120, calendars=10), after_answers=30
            )
            summary = assert_nothing_lost(system, ledger, database_url=system.env["DATABASE_URL"])

        # Every event the notifier consumes and posts reached the receiver, once.
        topology = load_topology()
        notified_types = webhook_event_types(topology.queue_for("notifier").event_types or ())
        archived = scan_archive(system.client("s3"), topology.bucket_name, topology.event_archive_prefix).events
        expected = {event.envelope.id for event in archived if event.envelope.type in notified_types}
        wait_until(lambda: expected <= set(delivered_event_ids(sink)), timeout=60, message="every webhook delivered")
        delivered = delivered_event_ids(sink)
        assert set(delivered) == expected
        repeated = {event_id: count for event_id, count in delivered.items() if count > 1}
        assert not repeated, f"webhooks delivered more than once: {repeated}"
        assert all(webhook.signature_valid for webhook in sink.received)

        # Stuck on the receiver, the notifier was alive all along: never withheld, never restarted.
        assert notifier.poll() is None and system.processes["notifier"] is notifier
        assert '"heartbeat_withheld"' not in system.log("notifier")
        assert heartbeat.oldest_seconds < HEALTH_CHECK_MAX_AGE_SECONDS
        receiver.stop()

    print(
        f"\nwebhook receiver hung {HANG_SECONDS} s: recovered {time.monotonic() - outage.restored_at:.1f} s after "
        f"the resume; {len(delivered)} webhooks, each once; oldest notifier heartbeat "
        f"{heartbeat.oldest_seconds:.1f} s; scenario {time.monotonic() - started:.0f} s; {summary}"
    )
