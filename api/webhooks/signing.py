"""How a webhook request is signed: HMAC-SHA256 with the endpoint's secret over ``f"{timestamp}.{body}"``.

Receivers verify with the same computation (the README shows it); the timestamp lets them refuse replays and
the event id lets them drop a delivery they already handled.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
TIMESTAMP_HEADER = "Trunkline-Timestamp"
SIGNATURE_HEADER = "Trunkline-Signature"
EVENT_HEADER = "Trunkline-Event"
EVENT_ID_HEADER = "Trunkline-Event-Id"
DELIVERY_HEADER = "Trunkline-Delivery-Id"
SIGNATURE_VERSION = "v1"


def new_secret() -> str:
    """A fresh signing secret: the prefix and 256 random bits."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, timestamp: int, body: bytes, *, event: str, event_id: str, delivery_id: str
) -> dict[str, str]:
    """The headers of one delivery attempt."""
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SIGNATURE_VERSION}={signature(secret, timestamp, body)}",
        EVENT_HEADER: event,
        EVENT_ID_HEADER: event_id,
        DELIVERY_HEADER: delivery_id,
    }
