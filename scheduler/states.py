"""The campaign state machine: draft → scheduled → running ⇄ paused → completed, cancelled from any non-final state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models import AttemptStatus, Campaign, CampaignAttempt, CampaignStatus
from scheduler import events

S = CampaignStatus
TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    S.DRAFT: frozenset({S.SCHEDULED, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.RUNNING, S.CANCELLED}),
    S.RUNNING: frozenset({S.PAUSED, S.COMPLETED, S.CANCELLED}),
    S.PAUSED: frozenset({S.RUNNING, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}
FINAL = frozenset({S.COMPLETED, S.CANCELLED})


class InvalidTransition(Exception):
    """The campaign cannot go from its status to the wanted one."""

    def __init__(self, current: CampaignStatus, wanted: CampaignStatus) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (it is final)"
        super().__init__(f"a {current.value} campaign cannot become {wanted.value}; from {current.value}: {allowed}")
        self.current = current
        self.wanted = wanted


async def change_status(
    session: AsyncSession, campaign: Campaign, wanted: CampaignStatus, now: datetime, reason: str | None = None
) -> dict[str, Any]:
    """Move the campaign (in the caller's transaction) and return the event to emit once it commits."""
    current = campaign.status
    if wanted not in TRANSITIONS[current]:
        raise InvalidTransition(current, wanted)
    campaign.status = wanted
    campaign.status_reason = reason
    if wanted is S.RUNNING and campaign.started_at is None:
        campaign.started_at = now
    if wanted in FINAL:
        campaign.completed_at = now
    if wanted is S.CANCELLED:
        # Calls already ringing finish; nothing new is dialled.
        await session.execute(
            update(CampaignAttempt)
            .where(CampaignAttempt.campaign_id == campaign.id, CampaignAttempt.status == AttemptStatus.PENDING)
            .values(status=AttemptStatus.CANCELLED, ended_at=now)
        )
    return {
        "campaign_id": str(campaign.id),
        "account_id": str(campaign.account_id),
        "from": current.value,
        "to": wanted.value,
        "reason": reason,
        "at": now.isoformat(),
    }


def announce(changes: list[dict[str, Any]]) -> None:
    """Emit ``campaign.status_changed`` for status changes that have been committed."""
    for payload in changes:
        events.emit(events.STATUS_CHANGED, payload)
