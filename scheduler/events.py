"""The single place events leave (calls, campaigns, ``credits.low`` from billing); webhooks subscribe here.

It lives in ``scheduler`` because the scheduler may import only ``models`` and itself; the API emits through it
too, and the webhook worker (``api/webhooks``) subscribes. Every payload names its ``account_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger("trunkline.events")

CALL_INITIATED = "call.initiated"
CALL_ANSWERED = "call.answered"
CALL_COMPLETED = "call.completed"
CALL_ANALYZED = "call.analyzed"
MACHINE_DETECTION_ENDED = "call.machine_detection.ended"
STATUS_CHANGED = "campaign.status_changed"
CREDITS_LOW = "credits.low"
# Every event a webhook endpoint can subscribe to (PRODUCT.md "Events").
EVENTS: tuple[str, ...] = (
    CALL_INITIATED,
    CALL_ANSWERED,
    CALL_COMPLETED,
    CALL_ANALYZED,
    MACHINE_DETECTION_ENDED,
    STATUS_CHANGED,
    CREDITS_LOW,
)

Subscriber = Callable[[str, dict[str, Any]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Callable[[], None]:
    """Receive every event (called on the emitting thread); returns the function that unsubscribes."""
    _subscribers.append(subscriber)
    return lambda: _subscribers.remove(subscriber)


def emit(name: str, payload: dict[str, Any]) -> None:
    """Log an event and hand it to every subscriber (a failing subscriber never stops the others)."""
    # Only the identifiers: a call event carries the whole call, transcript included, which has no place in a log.
    log.info(name, **{key: payload[key] for key in ("id", "status", "account_id") if key in payload})
    for subscriber in list(_subscribers):
        try:
            subscriber(name, payload)
        except Exception:
            log.exception("event subscriber failed", event=name)
