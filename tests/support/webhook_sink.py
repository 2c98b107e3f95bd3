"""A local webhook receiver for development and tests: `python -m tests.support.webhook_sink --port 8099`.

It plays the part `python -m aiosmtpd ... Debugging` plays for e-mail: a place for `make run`
(Procfile `webhook-sink`) to deliver to, printing each POST with whether its signature verifies.
Tests use the same class in-process to count requests and to script failing answers. It lives
here, not in the notifier package, so no service image carries it.

With a secret it receives as a Standard Webhooks receiver should: a request whose signature
does not verify, or whose `webhook-timestamp` is more than five minutes off, answers 401; one
whose `webhook-id` it has already accepted answers 200 but is marked a duplicate and not taken
again (a retry after a lost answer must not fail, and a replay must not count twice).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog

from notifier.domain.signing import EVENT_HEADER, ID_HEADER, verify
from taskoverflow_shared.logging_setup import configure_logging

log = structlog.get_logger("webhook_sink")


@dataclass(frozen=True)
class ReceivedWebhook:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    # None when the sink has no secret to check against.
    signature_valid: bool | None
    # An id already accepted: answered 200, not taken again.
    duplicate: bool = False

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


class WebhookSink:
    """An HTTP server on a background thread that records every request it answers."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        statuses: Iterable[int] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        on_receive: Callable[[ReceivedWebhook], None] | None = None,
    ) -> None:
        self.secret = secret
        self._statuses = iter(statuses)
        self._on_receive = on_receive
        self._lock = threading.Lock()
        self._received: list[ReceivedWebhook] = []
        self._accepted_ids: set[str] = set()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        # A short poll interval makes stop() quick: shutdown() waits for the loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-sink", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def received(self) -> list[ReceivedWebhook]:
        with self._lock:
            return list(self._received)

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> WebhookSink:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve on the calling thread until interrupted (the command-line use)."""
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()

    @property
    def accepted(self) -> list[ReceivedWebhook]:
        """What a receiver would act on: answered 2xx, signature valid (or unchecked), no duplicate."""
        return [
            r for r in self.received if 200 <= r.answered < 300 and r.signature_valid is not False and not r.duplicate
        ]

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        valid = None if self.secret is None else verify(body, headers, self.secret)
        message_id = next((value for key, value in headers.items() if key.lower() == ID_HEADER), None)
        with self._lock:
            duplicate = valid is not False and message_id in self._accepted_ids
            # Scripted answers first (e.g. 500, 500), then success; a forgery or a stale replay 401.
            status = 401 if valid is False else next(self._statuses, 200)
            if 200 <= status < 300 and message_id is not None:
                self._accepted_ids.add(message_id)
            received = ReceivedWebhook(
                path=path,
                headers=headers,
                body=body,
                answered=status,
                signature_valid=valid,
                duplicate=duplicate,
            )
            self._received.append(received)
        if self._on_receive:
            self._on_receive(received)
        return status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = sink._record(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: `on_receive` reports deliveries; the access log would only repeat them."""

        return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Receive webhooks locally and check their signatures.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--secret", default=os.environ.get("NOTIFIER_WEBHOOK_SECRET"))
    args = parser.parse_args(argv)
    configure_logging("webhook-sink")

    def report(webhook: ReceivedWebhook) -> None:
        log.info(
            "webhook_received",
            path=webhook.path,
            event_type=webhook.header(EVENT_HEADER),
            webhook_id=webhook.header(ID_HEADER),
            signature_valid=webhook.signature_valid,
            duplicate=webhook.duplicate,
            answered=webhook.answered,
            body=webhook.body.decode(errors="replace"),
        )

    sink = WebhookSink(secret=args.secret, host=args.host, port=args.port, on_receive=report)
    log.info("webhook_sink_listening", url=sink.url, verifies_signatures=args.secret is not None)
    sink.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
