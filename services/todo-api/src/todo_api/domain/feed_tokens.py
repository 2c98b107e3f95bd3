"""Calendar feed tokens: the credential in a subscribable feed's URL, and the digest kept of it.

A calendar app cannot send an Authorization header when it re-reads a subscribed URL, so the
URL carries the credential. It is 256 bits from `secrets` (unguessable, as a session id must
be), and only its SHA-256 is stored: the digest finds the owner, and a copy of the table opens
no feed. A token is therefore shown once, when it is issued; rotating issues another and the old
one stops working at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
# token_urlsafe(32): 43 characters of the URL-safe base64 alphabet, no padding.
FEED_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{43}$"
_SHAPE = re.compile(FEED_TOKEN_PATTERN)


def new_feed_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What is stored of a token, and looked up when a feed is requested: its SHA-256, in hex."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def looks_like_a_token(text: str) -> bool:
    """Whether `text` could be a token at all (anything else is not looked up)."""
    return _SHAPE.fullmatch(text) is not None
