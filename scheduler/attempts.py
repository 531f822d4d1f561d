"""Attempt rows: loading a campaign's audience in chunks, and the retry that follows an ended attempt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AttemptStatus, CallStatus, Campaign, CampaignAttempt, CampaignStatus, Contact
from scheduler.windows import CallWindow, contact_timezone


def window_of(campaign: Campaign, local_hours: bool = True) -> CallWindow:
    """The campaign's call window, with or without the 08:00-21:00 ceiling."""
    return CallWindow(
        start=campaign.window_start,
        end=campaign.window_end,
        timezone=campaign.window_timezone,
        use_contact_timezone=campaign.use_contact_timezone,
        local_hours=local_hours,
    )


def retry_delay_s(campaign: Campaign, outcome: CallStatus | None) -> int | None:
    """Seconds before the next attempt after ``outcome``, or None when the contact was reached."""
    if outcome is CallStatus.ANSWERED:
        return None
    if outcome is CallStatus.NO_ANSWER:
        return campaign.retry_no_answer_s
    if outcome in (CallStatus.BUSY, CallStatus.DECLINED):
        return campaign.retry_busy_s
    if outcome is CallStatus.VOICEMAIL:
        return campaign.retry_voicemail_s
    return campaign.retry_error_s


async def load_audience(
    session: AsyncSession, campaign: Campaign, now: datetime, limit: int, local_hours: bool = True
) -> int:
    """Create first attempts for the next ``limit`` eligible contacts (by id after the cursor); returns how many."""
    query = select(Contact.id, Contact.timezone, Contact.phone).where(
        Contact.account_id == campaign.account_id,
        Contact.phone.is_not(None),
        Contact.do_not_call.is_(False),
    )
    if campaign.audience_company_id is not None:
        query = query.where(Contact.company_id == campaign.audience_company_id)
    else:
        query = query.where(Contact.id.in_([UUID(str(c)) for c in campaign.audience_contact_ids]))
    if campaign.audience_cursor is not None:
        query = query.where(Contact.id > campaign.audience_cursor)
    rows = (await session.execute(query.order_by(Contact.id).limit(limit))).all()
    window = window_of(campaign, local_hours)
    opening: dict[str, datetime | None] = {}  # one window computation per timezone, not per contact
    values: list[dict[str, Any]] = []
    for contact_id, tz, phone in rows:
        zone = contact_timezone(tz, phone, campaign.window_timezone)
        if zone not in opening:
            opening[zone] = window.next_open(now, zone)
        due = opening[zone]
        values.append(
            {
                "account_id": campaign.account_id,
                "campaign_id": campaign.id,
                "contact_id": contact_id,
                "attempt_no": 1,
                "status": AttemptStatus.PENDING if due is not None else AttemptStatus.CANCELLED,
                "due_at": due or now,
            }
        )
    if values:
        await session.execute(insert(CampaignAttempt), values)
        campaign.audience_cursor = rows[-1][0]
    if len(rows) < limit:
        campaign.audience_loaded = True
    return len(rows)


async def close_attempt(
    session: AsyncSession,
    attempt: CampaignAttempt,
    now: datetime,
    outcome: CallStatus,
    *,
    sip_code: int | None = None,
    duration_s: float | None = None,
    call_id: UUID | None = None,
    local_hours: bool = True,
) -> CampaignAttempt | None:
    """Record how a dialled attempt ended and queue the retry the policy wants; returns that retry, if any."""
    attempt.status = AttemptStatus.DONE
    attempt.outcome = outcome
    attempt.sip_code = sip_code
    attempt.duration_s = duration_s
    attempt.ended_at = now
    if call_id is not None:
        attempt.call_id = call_id
    campaign = await session.get(Campaign, attempt.campaign_id)
    if (
        campaign is None
        or campaign.deleted_at is not None
        or campaign.status
        in (
            CampaignStatus.CANCELLED,
            CampaignStatus.COMPLETED,
        )
    ):
        return None
    delay = retry_delay_s(campaign, outcome)
    if delay is None or attempt.attempt_no >= campaign.max_attempts:
        return None
    contact = await session.get(Contact, attempt.contact_id, populate_existing=True)
    # A contact who opted out during this call (or since) gets no more attempts.
    if contact is None or contact.do_not_call or not contact.phone:
        return None
    zone = contact_timezone(contact.timezone, contact.phone, campaign.window_timezone)
    due = window_of(campaign, local_hours).next_open(now + timedelta(seconds=delay), zone)
    if due is None:
        return None
    retry = CampaignAttempt(
        account_id=attempt.account_id,
        campaign_id=attempt.campaign_id,
        contact_id=attempt.contact_id,
        attempt_no=attempt.attempt_no + 1,
        status=AttemptStatus.PENDING,
        due_at=due,
    )
    session.add(retry)
    return retry
