"""Webhook bodies: endpoints (the secret only on create and rotation) and deliveries with their attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import ShortText
from models import WebhookDeliveryStatus

Url = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=2000,
        description="http(s) URL; private, loopback and link-local addresses only when the node allows them",
    ),
]
EventName = Annotated[str, Meta(min_length=1, max_length=64)]
EventList = Annotated[list[EventName], Meta(min_length=1, max_length=20, description="Events to receive")]


class WebhookCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new endpoint; its signing secret is generated and returned once."""

    url: Url
    events: EventList
    description: ShortText | None = None
    active: bool = True


class WebhookUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changes to an endpoint; fields left out stay as they are."""

    url: Url | UnsetType = UNSET
    events: EventList | UnsetType = UNSET
    description: ShortText | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class WebhookOut(msgspec.Struct):
    """An endpoint; the secret shows only as a hint of its last characters."""

    id: UUID
    url: str
    events: list[str]
    description: str | None
    active: bool
    secret_hint: str
    created_at: datetime
    updated_at: datetime


class WebhookWithSecretOut(WebhookOut):
    """An endpoint just created or rotated, with its secret: store it now, it is never shown again."""

    secret: str = ""


class WebhookAttemptOut(msgspec.Struct):
    """One attempt to deliver: when, the receiver's status and the start of its answer, or the error."""

    at: datetime
    status_code: int | None
    response: str | None
    error: str | None
    duration_ms: int


class WebhookDeliveryOut(msgspec.Struct):
    """One event for one endpoint: the payload sent, where it stands and every attempt."""

    id: UUID
    endpoint_id: UUID
    event: str
    event_id: str
    payload: dict[str, Any]
    status: WebhookDeliveryStatus
    attempt_count: int
    attempts: list[WebhookAttemptOut]
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
