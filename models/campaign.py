"""Campaigns (batch outbound jobs) and their per-contact attempts."""

from __future__ import annotations

from datetime import datetime, time
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from models.base import AccountOwned, Base
from models.enums import AttemptStatus, CallStatus, CampaignStatus, enum_column


class Campaign(AccountOwned, Base):
    """A batch outbound job: who calls whom, from which numbers, when, and how often."""

    name: Mapped[str] = mapped_column(String(200))
    assistant_id: Mapped[UUID] = mapped_column(ForeignKey("assistant.id", ondelete="RESTRICT"), index=True)
    status: Mapped[CampaignStatus] = mapped_column(enum_column(CampaignStatus), default=CampaignStatus.DRAFT)
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    audience_company_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("company.id", ondelete="SET NULL"), default=None
    )
    audience_contact_ids: Mapped[list[str]] = mapped_column(JsonB, default=list)
    caller_number_ids: Mapped[list[str]] = mapped_column(JsonB, default=list)
    window_start: Mapped[time] = mapped_column(Time, default=time(9, 0))
    window_end: Mapped[time] = mapped_column(Time, default=time(17, 0))
    window_timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    use_contact_timezone: Mapped[bool] = mapped_column(Boolean, default=True)
    max_concurrent_calls: Mapped[int] = mapped_column(Integer, default=1)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    retry_no_answer_s: Mapped[int] = mapped_column(Integer, default=3600)
    retry_busy_s: Mapped[int] = mapped_column(Integer, default=900)
    retry_error_s: Mapped[int] = mapped_column(Integer, default=1800)
    retry_voicemail_s: Mapped[int] = mapped_column(Integer, default=86400)
    voicemail_message: Mapped[str | None] = mapped_column(Text, default=None)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # The scheduler loads the audience in chunks by contact id; the cursor makes that resumable after a crash.
    audience_cursor: Mapped[UUID | None] = mapped_column(GUID, default=None)
    audience_loaded: Mapped[bool] = mapped_column(Boolean, default=False)
    # Round robin over caller_number_ids survives restarts and is shared by every node.
    caller_cursor: Mapped[int] = mapped_column(Integer, default=0)


class CampaignAttempt(AccountOwned, Base):
    """One dial of one contact by a campaign; the scheduler picks due pending attempts."""

    __table_args__ = (
        Index("ix_attempt_due", "status", "due_at"),
        Index("ix_attempt_campaign_due", "campaign_id", "status", "due_at"),
        # One row per attempt number: a contact can never be dialled beyond max_attempts, even by two nodes.
        Index("ux_attempt_contact_no", "campaign_id", "contact_id", "attempt_no", unique=True),
    )

    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[UUID] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[AttemptStatus] = mapped_column(enum_column(AttemptStatus), default=AttemptStatus.PENDING)
    due_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    caller_id: Mapped[str | None] = mapped_column(String(20), default=None)
    outcome: Mapped[CallStatus | None] = mapped_column(enum_column(CallStatus), default=None)
    sip_code: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    call_id: Mapped[UUID | None] = mapped_column(ForeignKey("call.id", ondelete="SET NULL"), default=None)
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # The node dialling it: on restart a node closes its own in-flight attempts as errors.
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
