"""Who may call the API: a bearer token on every `/api/v1` route but the public ones.

`install_authentication` adds a before-request hook that sets `flask.g.owner` to the token's
`sub` (what a request creates belongs to it; the rate limiter keys on it), and `g.email` to its
verified e-mail address. Without AUTH_JWKS_URL, authentication is off on purpose (`make run`):
`g.owner` is None, every request passes, and the start says so.

`GET /api/v1/auth-config` tells the web page whether to sign in, and where.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import structlog
from flask import Flask, Response, g, jsonify, request

from todo_api.adapters.identity import IssuerEndpoints, IssuerUnavailable, TokenRejected, TokenVerifier
from todo_api.config import Settings
from todo_api.entrypoints.calendar_feeds import FEEDS_PREFIX
from todo_api.entrypoints.error_answers import error_response
from todo_api.entrypoints.openapi import Operation, Reply, documented
from todo_api.entrypoints.response_bodies import AuthConfig

AUTH_CONFIG_PATH = "/api/v1/auth-config"
# Health, the API's own descriptions and their viewer, and how to sign in: open to anyone.
PUBLIC_API_PATHS = frozenset({"/api/v1/health", "/api/v1/openapi.json", "/api/v1/asyncapi.json", AUTH_CONFIG_PATH})
# A calendar feed's token is in its path: apps re-reading a subscription send no Authorization.
PUBLIC_API_PREFIXES = ("/api/v1/docs", FEEDS_PREFIX)
ISSUER_RETRY_AFTER_SECONDS = 5
# What the page asks the issuer for: `email` puts the verified address in the ID token.
PAGE_SCOPES = "openid email profile"

log = structlog.get_logger("todo_api.auth")


def install_authentication(app: Flask, settings: Settings, verifier: TokenVerifier | None) -> None:
    """Require a valid bearer token where it is due (when `verifier` is set), and serve the page's config."""
    if verifier is None:
        log.warning("auth disabled", reason="AUTH_JWKS_URL is not set: every caller is anonymous and sees everything")
    else:
        log.info("auth enabled", issuer=settings.auth_issuer, audience=settings.auth_audience)
    issuer = IssuerEndpoints(settings.auth_issuer) if settings.auth_issuer else None

    @app.before_request
    def _authenticate() -> Response | None:
        g.owner = None
        g.email = None
        if verifier is None or not needs_token(request.path):
            return None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _unauthorized("a bearer token is required", None)
        try:
            identity = verifier.verify(token.strip())
        except TokenRejected as rejected:
            log.info("token_rejected", reason=str(rejected))
            return _unauthorized(str(rejected), "invalid_token")
        except IssuerUnavailable as unavailable:
            log.warning("issuer_unavailable", error=str(unavailable)[:300])
            return error_response(
                "the token issuer's keys cannot be fetched; try again shortly",
                503,
                retry_after_seconds=ISSUER_RETRY_AFTER_SECONDS,
            )
        g.owner = identity.subject
        g.email = identity.email
        return None

    @app.after_request
    def _let_the_page_reach_the_token_endpoint(response: Response) -> Response:
        # The page's policy allows its own origin only; signing in also POSTs to the issuer.
        policy = response.headers.get("Content-Security-Policy")
        if issuer is not None and policy and request.path == "/":
            token_endpoint = _endpoints_or_none(issuer).get("token_endpoint")
            if token_endpoint:
                origin = "{0.scheme}://{0.netloc}".format(urlsplit(token_endpoint))
                response.headers["Content-Security-Policy"] = f"{policy}; connect-src 'self' {origin}"
        return response

    @app.get(AUTH_CONFIG_PATH)
    @documented(
        Operation(
            "How the web page signs in",
            "service",
            {200: Reply("Whether authentication is on, and the issuer's sign-in endpoints.", AuthConfig)},
            description="Authorization code with PKCE; the page then sends its ID token as the bearer token.",
        )
    )
    def auth_config():
        if issuer is None:
            return jsonify(enabled=False)
        endpoints = _endpoints_or_none(issuer)
        return jsonify(
            enabled=True, issuer=settings.auth_issuer, client_id=settings.page_client_id, scope=PAGE_SCOPES, **endpoints
        )


def _endpoints_or_none(issuer: IssuerEndpoints) -> dict[str, str]:
    try:
        return issuer.endpoints()
    except IssuerUnavailable as unavailable:
        log.warning("issuer_unavailable", error=str(unavailable)[:300])
        return {}


def needs_token(path: str) -> bool:
    """Whether a request to `path` (or a route's rule) must carry a token when authentication is on."""
    if not path.startswith("/api/"):
        return False  # the web page and its files
    return path not in PUBLIC_API_PATHS and not path.startswith(PUBLIC_API_PREFIXES)


def _unauthorized(message: str, error_code: str | None) -> Response:
    # RFC 6750: the scheme, and why a token that was sent does not do.
    challenge = 'Bearer realm="taskoverflow"'
    if error_code:
        description = message.replace('"', "'")
        challenge += f', error="{error_code}", error_description="{description}"'
    return error_response(message, 401, headers={"WWW-Authenticate": challenge})
