"""Call bodies: the record, its transcript and analysis."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from models import CallDirection, CallStatus


class CallCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Place an outbound call: who talks, whom to call, from which number, for which contact."""

    assistant_id: UUID
    to_number: str | None = None
    from_number_id: UUID | None = None
    contact_id: UUID | None = None


class CallTurnOut(msgspec.Struct):
    """One transcript turn."""

    seq: int
    role: str
    text: str
    started_at: datetime
    ended_at: datetime | None
    interrupted: bool


class CallOut(msgspec.Struct):
    """A call record."""

    id: UUID
    direction: CallDirection
    from_number: str
    to_number: str
    status: CallStatus
    assistant_id: UUID | None
    contact_id: UUID | None
    company_id: UUID | None
    campaign_id: UUID | None
    phone_number_id: UUID | None
    sip_code: int | None
    hangup_by: str | None
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    has_recording: bool
    summary: str | None
    success: bool | None
    success_reason: str | None
    analysis: dict[str, Any] | None
    extracted: dict[str, Any] | None
    credits_charged: Decimal | None
    created_at: datetime


class CallDetailOut(CallOut):
    """A call record with its transcript."""

    transcript: list[CallTurnOut] = msgspec.field(default_factory=list)
