"""`todo-api-serve`: the API over HTTP, served by waitress.

    todo-api-serve --host 127.0.0.1 --port 6400   # make run (Procfile: --host $BIND_HOST)
    todo-api-serve                                # the image: 0.0.0.0:6400, behind the load balancer

Waitress reads every request whole (its headers, and its body up to the app's limit) in one event
loop before any of its threads runs the app. A client that sends slowly (slowloris: a few header
bytes now and then) costs a socket and a buffer, never a thread, so `/health` and every other
request keep being answered; gunicorn's threads each read their request themselves and 16 such
sockets held all eight of `make run`'s (docs/decisions/0007-api-http-server-waitress.md has the measurements).

One process: its Prometheus metrics are its own, served on METRICS_PORT like every worker's
(taskoverflow_shared.metrics; 0, the default, serves none, and METRICS_HOST defaults to
127.0.0.1), never on the API's public port.

SIGTERM (ECS, compose, honcho on Ctrl-C) stops accepting and gives the requests in hand up to
waitress's five seconds to finish; the load balancer stops sending before it signals.
"""

from __future__ import annotations

import argparse
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING

import structlog
from waitress.server import BaseWSGIServer, create_server

from taskoverflow_shared.settings import SettingsError
from taskoverflow_shared.worker_runtime import EXIT_INVALID_CONFIGURATION
from todo_api.entrypoints.flask_app import create_app

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = structlog.get_logger("todo_api.http")

# Connections held at once, idle or slow ones included; past it waitress stops accepting until
# one closes. Each costs a file descriptor and a small buffer, not a thread.
CONNECTION_LIMIT = 1000
# A connection that sends nothing for this long (an idle keep-alive, a stalled client) is closed.
CHANNEL_TIMEOUT_SECONDS = 30
THREADS = 8


def http_server(app: WSGIApplication, host: str, port: int, threads: int = THREADS) -> BaseWSGIServer:
    """The waitress server of `app`, not yet running (`.run()` serves until SystemExit)."""
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=CHANNEL_TIMEOUT_SECONDS,
        # X-Forwarded-* reach the app untouched: its ProxyFix believes as many entries as
        # TRUSTED_PROXY_COUNT says (the ALB's), where waitress would strip them all by default.
        clear_untrusted_proxy_headers=False,
        ident="todo-api",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the TaskOverflow API over HTTP.")
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=6400)
    parser.add_argument("--threads", type=int, default=THREADS, help="requests run at once")
    args = parser.parse_args(argv)

    try:
        app = create_app()
    except SettingsError as invalid:
        log.error("invalid_configuration", problems=invalid.problems)
        print(invalid, file=sys.stderr)
        return EXIT_INVALID_CONFIGURATION
    server = http_server(app, args.host, args.port, args.threads)

    def _stop(signum: int, frame: FrameType | None) -> None:
        # waitress's run() ends on SystemExit: it closes the listener and lets its threads finish.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    log.info("http_server_started", address=f"http://{args.host}:{args.port}", threads=args.threads)
    server.run()
    log.info("http_server_stopped")
    return 0
