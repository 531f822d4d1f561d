"""Outbound webhooks: an account's endpoints and every delivery of an event to one of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import AccountOwned, Base
from models.enums import WebhookDeliveryStatus, enum_column


class WebhookEndpoint(AccountOwned, Base):
    """A URL that receives the events it subscribed to, signed with its own secret."""

    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JsonB, default=list)
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Fernet token of the signing secret; it is shown once (on create and rotation), then only as a hint.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    secret_last4: Mapped[str] = mapped_column(String(4))


class WebhookDelivery(AccountOwned, Base):
    """One event for one endpoint: its payload, where it stands, and every attempt with its response."""

    __table_args__ = (
        # The worker's claim: pending deliveries whose next attempt is due.
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_endpoint", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB)
    status: Mapped[WebhookDeliveryStatus] = mapped_column(
        enum_column(WebhookDeliveryStatus), default=WebhookDeliveryStatus.PENDING
    )
    # Attempts since it was queued or redelivered; the retry schedule counts these.
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    # Every attempt ever made: {at, status_code, response, error, duration_ms}.
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    # Also the claim's lease: a claimed row is pushed into the future so no other node takes it meanwhile.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
