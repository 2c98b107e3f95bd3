"""Webhook signatures: HMAC-SHA256 of the exact body bytes, GitHub-style `sha256=<hex>`.

The body is the event itself, a CloudEvent in HTTP structured mode (`application/cloudevents+json`),
whose `id` and `time` let a receiver reject replays and duplicates; the signature proves the body
came from us and was not altered.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from taskoverflow_shared.events import Envelope

SIGNATURE_PREFIX = "sha256="
EVENT_HEADER = "X-TaskOverflow-Event"
DELIVERY_HEADER = "X-TaskOverflow-Delivery"
SIGNATURE_HEADER = "X-TaskOverflow-Signature"
USER_AGENT = "TaskOverflow-Notifier/1.0"
# CloudEvents HTTP binding, structured content mode: the body is the whole event, attributes and data.
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


def sign(body: bytes, secret: str) -> str:
    """The signature header value for `body`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str | None) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    if not signature:
        return False
    return hmac.compare_digest(sign(body, secret), signature)


@dataclass(frozen=True)
class WebhookRequest:
    """One POST to one subscriber: the body is sent exactly as it was signed."""

    url: str
    body: bytes
    headers: dict[str, str]


def signed_request(envelope: Envelope, url: str, secret: str) -> WebhookRequest:
    # Serialised once here so the bytes signed are the bytes sent, on every retry.
    body = envelope.model_dump_json().encode()
    headers = {
        "Content-Type": CLOUDEVENTS_CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        EVENT_HEADER: envelope.type,
        DELIVERY_HEADER: envelope.id,
        SIGNATURE_HEADER: sign(body, secret),
    }
    return WebhookRequest(url=url, body=body, headers=headers)
