"""Calls and their turn-by-turn transcripts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import AccountOwned, Base
from models.enums import CallDirection, CallStatus, enum_column


class Call(AccountOwned, Base):
    """One conversation, from INVITE to hangup and its post-call analysis."""

    __table_args__ = (Index("ix_call_account_created", "account_id", "created_at"),)

    direction: Mapped[CallDirection] = mapped_column(enum_column(CallDirection))
    from_number: Mapped[str] = mapped_column(String(64))
    to_number: Mapped[str] = mapped_column(String(64))
    status: Mapped[CallStatus] = mapped_column(enum_column(CallStatus), default=CallStatus.QUEUED, index=True)
    assistant_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("assistant.id", ondelete="SET NULL"), default=None, index=True
    )
    contact_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), default=None, index=True
    )
    company_id: Mapped[UUID | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"), default=None)
    campaign_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("campaign.id", ondelete="SET NULL"), default=None, index=True
    )
    phone_number_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("phone_number.id", ondelete="SET NULL"), default=None
    )
    trunk_id: Mapped[UUID | None] = mapped_column(ForeignKey("trunk.id", ondelete="SET NULL"), default=None)
    sip_call_id: Mapped[str | None] = mapped_column(String(255), default=None)
    sip_code: Mapped[int | None] = mapped_column(Integer, default=None)
    hangup_by: Mapped[str | None] = mapped_column(String(16), default=None)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    recording_path: Mapped[str | None] = mapped_column(String(500), default=None)
    summary: Mapped[str | None] = mapped_column(Text, default=None)
    success: Mapped[bool | None] = mapped_column(Boolean, default=None)
    success_reason: Mapped[str | None] = mapped_column(Text, default=None)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    extracted: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    credits_charged: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), default=None)

    turns: Mapped[list[CallTurn]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="CallTurn.seq", lazy="noload"
    )

    @property
    def has_recording(self) -> bool:
        """Whether a recording was kept; the API serves the file, never its path."""
        return bool(self.recording_path)


class CallTurn(Base):
    """One turn of the transcript: who spoke, what, and when."""

    call_id: Mapped[UUID] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    interrupted: Mapped[bool] = mapped_column(Boolean, default=False)

    call: Mapped[Call] = relationship(back_populates="turns", lazy="noload")
