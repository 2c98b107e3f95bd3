"""The issuer's JSON documents (OIDC discovery, JWKS), fetched on demand and kept.

A slow or failing issuer must cost requests as little as possible, as the API serves every
request from a small pool of threads (gunicorn's): with one fetch per request, 16 requests
waiting on a hung issuer held every thread, and `/health` waited with them. So:

- a document is kept `fresh_seconds` after a successful fetch;
- a failed fetch is remembered too: no fetch is tried again before a back-off has passed (1 s,
  then doubling up to a minute), and meanwhile callers are answered at once;
- one fetch at a time per process (single-flight): while it runs, other callers get the
  document they had (however old) or, with none yet, IssuerUnavailable at once, never a wait;
- each fetch has a short timeout and a size limit.

A stale document is served while a fresh one cannot be had: the issuer's keys rarely change,
and refusing every token while the issuer is away would take the API down with it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

ISSUER_TIMEOUT_SECONDS = 2.0
MAX_DOCUMENT_BYTES = 1024 * 1024
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0


class IssuerUnavailable(Exception):
    """The issuer's document could not be fetched: the request may be fine, so try again later."""


Fetch = Callable[[str, float], dict[str, Any]]


def fetch_json_object(url: str, timeout_seconds: float) -> dict[str, Any]:
    """The JSON object at `url`; IssuerUnavailable for anything else, or no answer in time."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_seconds) as response:
            raw = response.read(MAX_DOCUMENT_BYTES + 1)
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise ValueError(f"larger than {MAX_DOCUMENT_BYTES} bytes")
        document = json.loads(raw)
    except (OSError, ValueError) as failure:
        raise IssuerUnavailable(f"{url}: {failure}") from None
    if not isinstance(document, dict):
        raise IssuerUnavailable(f"{url}: not a JSON object")
    return document


class CachedIssuerDocument:
    """One document of the issuer, kept `fresh_seconds`, fetched by one caller at a time."""

    def __init__(
        self,
        url: str,
        *,
        fresh_seconds: float,
        timeout_seconds: float = ISSUER_TIMEOUT_SECONDS,
        fetch: Fetch = fetch_json_object,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.fresh_seconds = fresh_seconds
        self.timeout_seconds = timeout_seconds
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._document: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._fetching = False
        self._failures = 0
        self._failure = ""
        self._retry_at = 0.0

    def get(self, *, max_age_seconds: float | None = None) -> dict[str, Any]:
        """The document; fetched again first if older than `fresh_seconds` (or `max_age_seconds`,
        when a caller knows it is out of date), unless a fetch failed lately or is running now."""
        with self._lock:
            now = self._clock()
            kept = self._document
            age_limit = self.fresh_seconds if max_age_seconds is None else min(max_age_seconds, self.fresh_seconds)
            if kept is not None and now - self._fetched_at < age_limit:
                return kept
            if now < self._retry_at or self._fetching:
                if kept is not None:
                    return kept
                raise IssuerUnavailable(self._failure or f"{self.url} is being fetched by another request")
            self._fetching = True
        try:
            document = self._fetch(self.url, self.timeout_seconds)
        except IssuerUnavailable as failure:
            with self._lock:
                self._fetching = False
                self._failures += 1
                backoff = min(FIRST_BACKOFF_SECONDS * 2 ** (self._failures - 1), MAX_BACKOFF_SECONDS)
                self._retry_at = self._clock() + backoff
                self._failure = str(failure)
            if kept is not None:
                return kept
            raise
        except BaseException:
            with self._lock:
                self._fetching = False
            raise
        with self._lock:
            self._fetching = False
            self._failures = 0
            self._retry_at = 0.0
            self._document = document
            self._fetched_at = self._clock()
        return document
