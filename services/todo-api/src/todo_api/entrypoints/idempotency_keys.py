"""The `Idempotency-Key` request header (IETF draft-ietf-httpapi-idempotency-key-header).

A client that sends a write again (after a 503, a timeout or a dropped connection) cannot know
whether the first one happened: the database may have committed it while the answer was lost.
With the same key the repeat changes nothing and gets the first one's answer, so a retried
create makes one todo and a retried delete answers 200, not 404.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from flask import g, request

from todo_api.domain.commands import IdempotencyKey
from todo_api.domain.model import InvalidInput

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_KEY_PATTERN = rf"^[\x20-\x7e]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}$"
_SHAPE = re.compile(IDEMPOTENCY_KEY_PATTERN)


def idempotency_key() -> IdempotencyKey | None:
    """The request's key, with the fingerprint of what it asks; None if it sent none."""
    value = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if value is None:
        return None
    if not _SHAPE.fullmatch(value):
        raise InvalidInput(
            f"{IDEMPOTENCY_KEY_HEADER} must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters"
        )
    asked = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data()):
        asked.update(len(part).to_bytes(8, "big"))  # lengths first: no two requests hash alike
        asked.update(part)
    return IdempotencyKey(g.owner, value, asked.hexdigest(), datetime.now(UTC))
