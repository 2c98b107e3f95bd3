"""Abuse limits on the API's writes and calendar requests: 429 with `Retry-After` once a client
has used its share.

`RATE_LIMIT_WRITES` / `RATE_LIMIT_CALENDARS` set to `off` (dev.env, for `make run`) leave that
route unlimited, and the start says so, as it does when authentication is off.

A client is the signed-in user (`g.owner`, the token's subject, when authentication is on) or
else the address the request came from. Behind a load balancer that address is the balancer's
own, so `TRUSTED_PROXY_COUNT` says how many proxies in front of us append to `X-Forwarded-For`
(1 behind the ALB); only then is the header believed, and only its last entries, the ones our
proxies wrote: a client can put anything in the first.

Flask-Limiter counts in the storage `RATE_LIMIT_STORAGE_URI` names. The default, `memory://`,
counts in each process: with N API processes or tasks a client gets up to N times the
limit. A shared storage (`redis://...`, `memcached://...`) makes it one count for all. The WAF
rule on the load balancer is the fleet-wide limit per address either way.

The limits wrap the views themselves (not a before_request hook), so they are checked after
every before_request hook has run, authentication's included: the owner is known by then.
"""

from __future__ import annotations

import math
import time

import structlog
from flask import Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from todo_api.config import RATE_LIMIT_OFF, Settings
from todo_api.entrypoints.error_answers import error_response
from todo_api.entrypoints.openapi import with_responses

TODOS_PATH = "/api/v1/todos"
CALENDAR_REQUEST_PATH = "/api/v1/todos/ical"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

log = structlog.get_logger("todo_api.limits")


def client_key() -> str:
    """Whose share a request counts against: the user when signed in, else the client address."""
    owner = getattr(g, "owner", None)
    if owner:
        return f"user:{owner}"
    return f"address:{request.remote_addr or 'unknown'}"


def register_request_limits(app: Flask, settings: Settings) -> Limiter:
    """Limit writes of todos (one shared count for create, change and delete) and calendar
    requests (a count of their own) per client; call it once the routes are defined."""
    if settings.trusted_proxy_count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_count)  # type: ignore[method-assign]
    # Flask-Limiter's own hooks run on every request, limited route or not (~0.1 ms of CPU each,
    # a status poll's quarter): attached only when some limit is on.
    limited = any(limit != RATE_LIMIT_OFF for limit in (settings.rate_limit_writes, settings.rate_limit_calendars))
    limiter = Limiter(
        client_key,
        app=app if limited else None,
        storage_uri=settings.rate_limit_storage_uri,
        # Counting must not take the API down with it: a storage that is unreachable counts nothing.
        swallow_errors=True,
    )
    writes = calendars = None
    if settings.rate_limit_writes != RATE_LIMIT_OFF:
        writes = limiter.shared_limit(settings.rate_limit_writes, scope="todo-writes")
    if settings.rate_limit_calendars != RATE_LIMIT_OFF:
        calendars = limiter.limit(settings.rate_limit_calendars)
    off = [name for name, limit in (("RATE_LIMIT_WRITES", writes), ("RATE_LIMIT_CALENDARS", calendars)) if not limit]
    if off:
        log.warning("rate limits off", settings=off, reason="set to 'off': any client may send as much as it likes")
    for rule in app.url_map.iter_rules():
        if rule.rule == CALENDAR_REQUEST_PATH:
            limit = calendars
        elif rule.rule.startswith(TODOS_PATH) and WRITE_METHODS & (rule.methods or set()):
            limit = writes
        else:
            continue
        if limit is None:
            continue
        view = with_responses(app.view_functions[rule.endpoint], {429: "TooManyRequests"})
        app.view_functions[rule.endpoint] = limit(view)

    @app.errorhandler(RateLimitExceeded)
    def _too_many_requests(error: RateLimitExceeded) -> Response:
        return error_response(
            f"too many requests: at most {error.limit.limit} per client; try again later",
            429,
            retry_after_seconds=_seconds_until_reset(limiter),
        )

    return limiter


def _seconds_until_reset(limiter: Limiter) -> int:
    current = limiter.current_limit
    if current is None:
        return 1
    # reset_at is a whole second, rounded up: never more than one window away.
    return min(max(math.ceil(current.reset_at - time.time()), 1), current.limit.get_expiry())
