"""POST signed webhooks over HTTP(S) through the SSRF guard, with retries.

The guard lives inside the connection: urllib3 calls `_new_conn` to open every socket, and
ours resolves the host, checks every address against the AddressPolicy and connects to a
checked address literal. The Host header, TLS SNI and certificate check still use the URL's
host name (urllib3 takes them from `self.host`), so nothing changes for the receiver — but no
second DNS lookup happens between check and connect, which is what DNS rebinding exploits.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, Protocol

import requests
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

from notifier.adapters.retry import RetryPolicy, TransientDeliveryError
from notifier.domain.address_policy import AddressPolicy, TargetRefused
from notifier.domain.deliveries import DeliveryResult, Outcome, redact_target
from notifier.domain.signing import WebhookRequest
from taskoverflow_shared.tracing import mark_failed, trace_headers, tracer

Resolver = Callable[[str, int], list[str]]


class WebhookSender(Protocol):
    """Port: deliver one signed webhook, retrying transient failures until `deadline`.

    Never raises for a delivery problem: the result says whether it was delivered, may
    succeed later (transient) or never will (permanent: 3xx/4xx answer, refused address).
    """

    def send(self, request: WebhookRequest, *, deadline: float) -> DeliveryResult: ...


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order, without duplicates."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class HttpWebhookSender:
    def __init__(
        self,
        *,
        policy: AddressPolicy,
        retry: RetryPolicy,
        timeout_seconds: float,
        resolver: Resolver = resolve,
    ) -> None:
        self._retry = retry
        self._timeout = timeout_seconds
        self._session = guarded_session(policy, resolver)

    def send(self, request: WebhookRequest, *, deadline: float) -> DeliveryResult:
        attempts = 0

        def attempt() -> DeliveryResult:
            nonlocal attempts
            attempts += 1
            with tracer.start_as_current_span(
                "POST webhook",
                kind=SpanKind.CLIENT,
                attributes={"http.request.method": "POST", "url.full": redact_target(request.url), "attempt": attempts},
            ) as span:
                result = post()
                span.set_attribute("delivery.outcome", result.outcome.value)
                if result.outcome is not Outcome.DELIVERED:
                    mark_failed(span, result.detail)
                return result

        def post() -> DeliveryResult:
            try:
                response = self._session.post(
                    request.url,
                    data=request.body,
                    # The receiver may continue the event's trace (W3C trace context).
                    headers={**request.headers, **trace_headers()},
                    timeout=self._timeout,
                    # A redirect is not followed: it would send the signed body somewhere the
                    # operator never configured. The receiver must be configured with its final URL.
                    allow_redirects=False,
                    # We never read the answer's body; do not let a receiver stream us megabytes.
                    stream=True,
                )
            except TargetRefused as refused:
                return DeliveryResult.permanent(f"refused: {refused}", attempts)
            except (requests.Timeout, requests.ConnectionError) as error:
                raise TransientDeliveryError(f"{type(error).__name__}: {error}") from error
            except requests.RequestException as error:
                return DeliveryResult.permanent(f"{type(error).__name__}: {error}", attempts)
            status = response.status_code
            response.close()
            trace.get_current_span().set_attribute("http.response.status_code", status)
            if 200 <= status < 300:
                return DeliveryResult.delivered(f"HTTP {status}", attempts)
            if status >= 500:
                raise TransientDeliveryError(f"HTTP {status}")
            return DeliveryResult.permanent(f"HTTP {status}", attempts)

        try:
            return self._retry.run(attempt, deadline=deadline)
        except TransientDeliveryError as error:
            return DeliveryResult.transient(str(error), attempts)


def guarded_session(policy: AddressPolicy, resolver: Resolver = resolve) -> requests.Session:
    """A requests Session whose every connection passes `policy` (both http and https)."""
    session = requests.Session()
    # Proxies from the environment would make the proxy, not us, connect to the target,
    # bypassing the guard; and netrc credentials have no business on a webhook.
    session.trust_env = False
    adapter = _GuardedAdapter(policy, resolver)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _GuardedConnection(HTTPConnection):
    policy: AddressPolicy
    resolver: Resolver

    def _new_conn(self) -> socket.socket:
        host = self._dns_host
        try:
            addresses = self.resolver(host, self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        self.policy.check(host, addresses)
        last_error: OSError | None = None
        for address in addresses:
            try:
                # An address literal: create_connection's getaddrinfo does no DNS lookup here.
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as error:  # includes TimeoutError; try the next address
                last_error = error
        if isinstance(last_error, TimeoutError):
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out") from last_error
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}") from last_error


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    """TLS over a guarded socket: HTTPSConnection.connect() calls our `_new_conn`."""


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        # urllib3 builds connections from classes, not instances: bind the policy to subclasses.
        attributes = {"policy": policy, "resolver": staticmethod(resolver)}
        http_connection = type("PolicyHTTPConnection", (_GuardedConnection,), attributes)
        https_connection = type("PolicyHTTPSConnection", (_GuardedHTTPSConnection,), attributes)
        self._pool_classes = {
            "http": type("PolicyHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_connection}),
            "https": type("PolicyHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_connection}),
        }
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes
