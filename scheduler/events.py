"""The single place events leave (campaign events, and ``credits.low`` from billing); webhooks subscribe here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger("trunkline.campaigns")

STATUS_CHANGED = "campaign.status_changed"

Subscriber = Callable[[str, dict[str, Any]], None]
_subscribers: list[Subscriber] = []


def subscribe(subscriber: Subscriber) -> Callable[[], None]:
    """Receive every campaign event; returns the function that unsubscribes."""
    _subscribers.append(subscriber)
    return lambda: _subscribers.remove(subscriber)


def emit(name: str, payload: dict[str, Any]) -> None:
    """Log a campaign event and hand it to every subscriber (a failing subscriber never stops the others)."""
    log.info(name, **payload)
    for subscriber in list(_subscribers):
        try:
            subscriber(name, payload)
        except Exception:
            log.exception("campaign event subscriber failed", event=name)
