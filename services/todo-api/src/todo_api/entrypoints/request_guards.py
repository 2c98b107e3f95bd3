"""Checks on every request before its view, and headers on every answer, that keep browsers
and oversized bodies in bounds.

- A streamed (chunked) body has no `Content-Length` to refuse up front: it is read here, up to
  the limit, and answers 413 past it, as a declared length over the limit does.
- Another site's page can make a user's browser send a POST without asking first (no CORS
  preflight) as long as it sends only "simple" headers; a bodiless `POST /todos/ical` needs
  nothing else. So a state-changing request from a browser (it names its `Origin` or
  `Sec-Fetch-Site`) must send a JSON body or a header no simple request can carry, which a page
  of another site cannot without a preflight this API never grants. Clients that are not
  browsers (curl, scripts) send neither header and are taken as they are.
- Every answer says not to sniff content types nor to send the page's address on; the docs
  page runs only its own scripts.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from todo_api.entrypoints.openapi import CORRELATION_HEADER
from todo_api.entrypoints.service_routes import DOCS_PATH

STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Headers outside the CORS-safelisted ones: a cross-site page cannot send them unasked.
PREFLIGHTED_HEADERS = ("X-Requested-With", "Idempotency-Key", CORRELATION_HEADER, "Authorization")
REFERRER_POLICY = "no-referrer"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def register_request_guards(app: Flask, max_body_bytes: int) -> None:
    """Register after tracing (so refusals are logged with the request) and before the views."""

    def read_streamed_body() -> None:
        environ = request.environ
        if request.content_length is not None or "wsgi.input_terminated" not in environ:
            return
        body = environ["wsgi.input"].read(max_body_bytes + 1)
        if len(body) > max_body_bytes:
            raise RequestEntityTooLarge()
        # From here on the body is an ordinary one of known length.
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)

    app.before_request(read_streamed_body)
    app.before_request(_refuse_unpreflighted_browser_writes)
    app.after_request(_protective_headers)


def _refuse_unpreflighted_browser_writes() -> None:
    if request.method not in STATE_CHANGING_METHODS:
        return
    from_a_browser = "Origin" in request.headers or "Sec-Fetch-Site" in request.headers
    if not from_a_browser or request.mimetype == "application/json":
        return
    if any(name in request.headers for name in PREFLIGHTED_HEADERS):
        return
    raise UnsupportedMediaType(
        "a browser's request that changes something must send Content-Type: application/json "
        "or an X-Requested-With header"
    )


def _protective_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = REFERRER_POLICY
    if request.path.startswith(DOCS_PATH) and response.mimetype == "text/html" and not response.is_streamed:
        response.headers["Content-Security-Policy"] = _docs_policy(response.get_data())
    return response


def _docs_policy(page: bytes) -> str:
    """Swagger UI's page: its own files, and the one inline script that starts it, by its hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
