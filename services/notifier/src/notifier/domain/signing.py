"""Webhook signatures per the Standard Webhooks specification (https://www.standardwebhooks.com).

Each request carries `webhook-id` (the event id: the same on every retry, redelivery and replay,
so a receiver processes it once), `webhook-timestamp` (Unix seconds, when it was signed) and
`webhook-signature`: `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed with the
subscriber's own secret. A receiver checks the signature, refuses a timestamp more than a few
minutes off (so a captured request cannot be replayed later) and remembers the ids it has
processed (so it cannot be replayed sooner). The signing is the spec authors' library's.

Secrets are `whsec_` followed by the base64 of 24 to 64 random bytes, as the spec's libraries
make them: `python -c "import base64, os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())"`.

The body is the event itself, a CloudEvent in HTTP structured mode (`application/cloudevents+json`).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from taskoverflow_shared.events import Envelope

SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
EVENT_HEADER = "X-TaskOverflow-Event"
USER_AGENT = "TaskOverflow-Notifier/1.0"
# CloudEvents HTTP binding, structured content mode: the body is the whole event, attributes and data.
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


class InvalidSecret(ValueError):
    """Not a `whsec_` secret: the message says what one looks like."""


def check_secret(secret: str) -> str:
    """`secret` if it is `whsec_` + base64 of 24 to 64 bytes; InvalidSecret otherwise."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True) if secret.startswith(SECRET_PREFIX) else b""
    except binascii.Error:
        key = b""
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        raise InvalidSecret(
            f"a webhook secret is {SECRET_PREFIX!r} followed by the base64 of "
            f"{SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} random bytes"
        )
    return secret


def sign(message_id: str, timestamp: datetime, body: bytes, secret: str) -> str:
    """The `webhook-signature` value for `body` sent as `message_id` at `timestamp`."""
    return Webhook(secret).sign(message_id, timestamp, body.decode())


def verify(body: bytes, headers: dict[str, str], secret: str) -> bool:
    """What a receiver does: the signature matches and the timestamp is within five minutes of now."""
    try:
        Webhook(secret).verify(body, headers, json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError: a malformed signature header
        return False
    return True


@dataclass(frozen=True)
class WebhookRequest:
    """One POST to one subscriber: the body is sent exactly as it was signed."""

    url: str
    body: bytes
    headers: dict[str, str]


def signed_request(envelope: Envelope, url: str, secret: str, now: datetime | None = None) -> WebhookRequest:
    # Serialised once here so the bytes signed are the bytes sent, on every retry. A redelivered
    # message is signed anew, with a fresh timestamp: receivers accept it and dedupe by id.
    body = envelope.model_dump_json().encode()
    signed_at = (now or datetime.now(UTC)).replace(microsecond=0)
    headers = {
        "Content-Type": CLOUDEVENTS_CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        EVENT_HEADER: envelope.type,
        ID_HEADER: envelope.id,
        TIMESTAMP_HEADER: str(int(signed_at.timestamp())),
        SIGNATURE_HEADER: sign(envelope.id, signed_at, body, secret),
    }
    return WebhookRequest(url=url, body=body, headers=headers)
