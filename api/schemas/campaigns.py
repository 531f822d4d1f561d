"""Campaign bodies: the job, its state-machine actions and its live figures."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import LongText, Name
from models import CampaignStatus

OneToTen = Annotated[int, Meta(ge=1, le=10)]
RetryDelay = Annotated[int, Meta(ge=1, le=30 * 86400, description="Seconds before the next attempt")]
TimezoneName = Annotated[str, Meta(min_length=1, max_length=64, description="IANA timezone, e.g. America/New_York")]
ContactIds = Annotated[list[UUID], Meta(max_length=10_000, description="An explicit audience (at most 10,000)")]
NumberIds = Annotated[list[UUID], Meta(min_length=1, max_length=50, description="Caller-ID numbers, in rotation")]


class CampaignCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new campaign (draft): give an audience company or an explicit list of contacts."""

    name: Name
    assistant_id: UUID
    caller_number_ids: NumberIds
    audience_company_id: UUID | None = None
    audience_contact_ids: ContactIds = msgspec.field(default_factory=list)
    window_start: time = time(9, 0)
    window_end: time = time(17, 0)
    window_timezone: TimezoneName = "America/New_York"
    use_contact_timezone: bool = True
    max_concurrent_calls: OneToTen = 1
    max_attempts: OneToTen = 3
    retry_no_answer_s: RetryDelay = 3600
    retry_busy_s: RetryDelay = 900
    retry_error_s: RetryDelay = 1800
    retry_voicemail_s: RetryDelay = 86400
    voicemail_message: LongText | None = None
    scheduled_at: datetime | None = None


class CampaignUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a campaign; window, retries and voicemail message are locked while it runs."""

    name: Name | UnsetType = UNSET
    assistant_id: UUID | UnsetType = UNSET
    caller_number_ids: NumberIds | UnsetType = UNSET
    audience_company_id: UUID | UnsetType | None = UNSET
    audience_contact_ids: ContactIds | UnsetType = UNSET
    window_start: time | UnsetType = UNSET
    window_end: time | UnsetType = UNSET
    window_timezone: TimezoneName | UnsetType = UNSET
    use_contact_timezone: bool | UnsetType = UNSET
    max_concurrent_calls: OneToTen | UnsetType = UNSET
    max_attempts: OneToTen | UnsetType = UNSET
    retry_no_answer_s: RetryDelay | UnsetType = UNSET
    retry_busy_s: RetryDelay | UnsetType = UNSET
    retry_error_s: RetryDelay | UnsetType = UNSET
    retry_voicemail_s: RetryDelay | UnsetType = UNSET
    voicemail_message: LongText | UnsetType | None = UNSET
    scheduled_at: datetime | UnsetType | None = UNSET


class CampaignOut(msgspec.Struct):
    """A campaign."""

    id: UUID
    name: str
    assistant_id: UUID
    status: CampaignStatus
    status_reason: str | None
    audience_company_id: UUID | None
    audience_contact_ids: list[UUID]
    caller_number_ids: list[UUID]
    window_start: time
    window_end: time
    window_timezone: str
    use_contact_timezone: bool
    max_concurrent_calls: int
    max_attempts: int
    retry_no_answer_s: int
    retry_busy_s: int
    retry_error_s: int
    retry_voicemail_s: int
    voicemail_message: str | None
    scheduled_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class NextAttemptOut(msgspec.Struct):
    """An attempt waiting in the queue."""

    contact_id: UUID
    attempt_no: int
    due_at: datetime


class RecentCallOut(msgspec.Struct):
    """An attempt being dialled or dialled lately."""

    attempt_id: UUID
    contact_id: UUID
    attempt_no: int
    call_id: UUID | None
    caller_id: str | None
    status: str
    outcome: str | None
    sip_code: int | None
    duration_s: float | None
    started_at: datetime | None
    ended_at: datetime | None


class CampaignStatsOut(msgspec.Struct):
    """Live figures of a campaign for its dashboard."""

    campaign_id: UUID
    status: CampaignStatus
    status_reason: str | None
    contacts: int
    contacts_reached: int
    contacts_finished: int
    attempts: int
    calls_in_progress: int
    queue_size: int
    cancelled: int
    outcomes: dict[str, int]
    answer_rate: float
    completion_rate: float
    next_attempts: list[NextAttemptOut]
    recent_calls: list[RecentCallOut]


def stats_out(campaign: Any, figures: dict[str, Any]) -> CampaignStatsOut:
    """The response body of a campaign's figures."""
    return msgspec.convert(
        {**figures, "status": campaign.status, "status_reason": campaign.status_reason}, CampaignStatsOut
    )
