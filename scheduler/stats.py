"""Live figures of one campaign, computed from its attempts with indexed counts (cheap at 100k contacts)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AttemptStatus, CallStatus, CampaignAttempt

RECENT = 10
UPCOMING = 10


async def campaign_stats(session: AsyncSession, campaign_id: UUID) -> dict[str, Any]:
    """Counts by outcome, answer and completion rates, calls in progress, queue, next attempts, recent calls."""
    of_campaign = CampaignAttempt.campaign_id == campaign_id
    by_status = dict(
        (
            await session.execute(
                select(CampaignAttempt.status, func.count()).where(of_campaign).group_by(CampaignAttempt.status)
            )
        ).all()
    )
    by_outcome = {
        outcome.value: count
        for outcome, count in (
            await session.execute(
                select(CampaignAttempt.outcome, func.count())
                .where(of_campaign, CampaignAttempt.status == AttemptStatus.DONE)
                .group_by(CampaignAttempt.outcome)
            )
        ).all()
        if outcome is not None
    }
    contacts = int(
        await session.scalar(select(func.count(distinct(CampaignAttempt.contact_id))).where(of_campaign)) or 0
    )
    open_contacts = int(
        await session.scalar(
            select(func.count(distinct(CampaignAttempt.contact_id))).where(
                of_campaign, CampaignAttempt.status.in_((AttemptStatus.PENDING, AttemptStatus.DIALING))
            )
        )
        or 0
    )
    reached = int(
        await session.scalar(
            select(func.count(distinct(CampaignAttempt.contact_id))).where(
                of_campaign, CampaignAttempt.outcome == CallStatus.ANSWERED
            )
        )
        or 0
    )
    dialled = sum(by_outcome.values())
    upcoming = (
        await session.execute(
            select(CampaignAttempt.contact_id, CampaignAttempt.attempt_no, CampaignAttempt.due_at)
            .where(of_campaign, CampaignAttempt.status == AttemptStatus.PENDING)
            .order_by(CampaignAttempt.due_at)
            .limit(UPCOMING)
        )
    ).all()
    recent = list(
        await session.scalars(
            select(CampaignAttempt)
            .where(of_campaign, CampaignAttempt.status.in_((AttemptStatus.DONE, AttemptStatus.DIALING)))
            .order_by(CampaignAttempt.started_at.desc())
            .limit(RECENT)
        )
    )
    return {
        "campaign_id": campaign_id,
        "contacts": contacts,
        "contacts_reached": reached,
        "contacts_finished": contacts - open_contacts,
        "attempts": sum(by_status.values()),
        "calls_in_progress": by_status.get(AttemptStatus.DIALING, 0),
        "queue_size": by_status.get(AttemptStatus.PENDING, 0),
        "cancelled": by_status.get(AttemptStatus.CANCELLED, 0),
        "outcomes": by_outcome,
        "answer_rate": round(by_outcome.get(CallStatus.ANSWERED.value, 0) / dialled, 4) if dialled else 0.0,
        "completion_rate": round((contacts - open_contacts) / contacts, 4) if contacts else 0.0,
        "next_attempts": [
            {"contact_id": contact_id, "attempt_no": attempt_no, "due_at": due_at}
            for contact_id, attempt_no, due_at in upcoming
        ],
        "recent_calls": [
            {
                "attempt_id": a.id,
                "contact_id": a.contact_id,
                "attempt_no": a.attempt_no,
                "call_id": a.call_id,
                "caller_id": a.caller_id,
                "status": a.status.value,
                "outcome": a.outcome.value if a.outcome else None,
                "sip_code": a.sip_code,
                "duration_s": a.duration_s,
                "started_at": a.started_at,
                "ended_at": a.ended_at,
            }
            for a in recent
        ],
    }
