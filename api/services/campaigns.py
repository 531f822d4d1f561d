"""Campaigns: validation, locked fields, soft delete and the state-machine actions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, select, update

from api.errors import Conflict, FieldError, Invalid, NotFound
from api.services.base import ScopedService
from api.services.contacts import TIMEZONES
from models import (
    Assistant,
    AttemptStatus,
    Campaign,
    CampaignAttempt,
    CampaignStatus,
    Company,
    Contact,
    PhoneNumber,
    PhoneNumberStatus,
)
from models.repositories import CampaignRepository
from scheduler.states import FINAL, InvalidTransition, announce, change_status
from scheduler.stats import campaign_stats

# Changing these under a running campaign would change calls already planned: pause first.
LOCKED_WHILE_RUNNING = (
    "window_start",
    "window_end",
    "window_timezone",
    "use_contact_timezone",
    "max_attempts",
    "retry_no_answer_s",
    "retry_busy_s",
    "retry_error_s",
    "retry_voicemail_s",
    "voicemail_message",
)
# Attempts are created from these when the campaign starts; after launch they are history.
FIXED_AFTER_LAUNCH = ("assistant_id", "audience_company_id", "audience_contact_ids")


class CampaignService(ScopedService[Campaign]):
    """Campaigns of one account; deleted ones are invisible."""

    repository_type = CampaignRepository
    noun = "campaign"

    def visible(self) -> list[ColumnElement[bool]]:
        """Campaigns not soft-deleted."""
        return [Campaign.deleted_at.is_(None)]

    async def get(self, item_id: UUID) -> Campaign:
        """The campaign, or 404 when it is missing, another account's, or deleted."""
        campaign = await super().get(item_id)
        if campaign.deleted_at is not None:
            raise NotFound(f"campaign {item_id} not found")
        return campaign

    async def _check(self, values: dict[str, Any], current: Campaign | None = None) -> dict[str, Any]:
        errors: list[FieldError] = []
        out = dict(values)
        if "name" in out:
            out["name"] = out["name"].strip()
            if not out["name"]:
                errors.append(FieldError("name", "must not be blank"))
        if "assistant_id" in out:
            await self.require_owned(Assistant, out["assistant_id"], "assistant_id")
        if out.get("audience_company_id") is not None:
            await self.require_owned(Company, out["audience_company_id"], "audience_company_id")
        for field, model, noun in (
            ("audience_contact_ids", Contact, "contact"),
            ("caller_number_ids", PhoneNumber, "phone number"),
        ):
            if field in out:
                out[field] = await self._owned_ids(model, out[field], field, noun, errors)
        if "window_timezone" in out and out["window_timezone"] not in TIMEZONES:
            errors.append(FieldError("window_timezone", f"'{out['window_timezone']}' is not an IANA timezone"))
        for name in ("window_start", "window_end"):
            if name in out and out[name].tzinfo is not None:
                errors.append(FieldError(name, "give a wall-clock time without an offset; the timezone is separate"))
        start = out.get("window_start", current.window_start if current else None)
        end = out.get("window_end", current.window_end if current else None)
        if start is not None and end is not None and start.replace(tzinfo=None) == end.replace(tzinfo=None):
            errors.append(FieldError("window_end", "must differ from window_start (a window may cross midnight)"))
        if out.get("scheduled_at") is not None and out["scheduled_at"].tzinfo is None:
            errors.append(FieldError("scheduled_at", "give a timezone offset, e.g. 2026-12-01T09:00:00Z"))
        company = out.get("audience_company_id", current.audience_company_id if current else None)
        contacts = out.get("audience_contact_ids", current.audience_contact_ids if current else [])
        if company is not None and contacts:
            errors.append(FieldError("audience_contact_ids", "give either audience_company_id or a contact list"))
        if errors:
            raise Invalid.of(errors)
        return out

    async def _owned_ids(
        self, model: type[Contact] | type[PhoneNumber], ids: list[Any], field: str, noun: str, errors: list[FieldError]
    ) -> list[str]:
        """``ids`` without repeats, each checked to be a ``model`` row of this account (else a field error)."""
        unique = list(dict.fromkeys(ids))
        found = set(
            await self.session.scalars(
                select(model.id).where(model.account_id == self.account_id, model.id.in_(unique))
            )
        )
        missing = [str(i) for i in unique if i not in found]
        if missing:
            errors.append(FieldError(field, f"no {noun} {missing[0]} in this account"))
        return [str(i) for i in unique]

    async def add(self, values: dict[str, Any]) -> Campaign:
        """Create a draft campaign after checking every reference belongs to the account."""
        return await self.create(**await self._check(values))

    async def change(self, campaign: Campaign, values: dict[str, Any]) -> Campaign:
        """Update a campaign; 409 for fields its status locks."""
        if campaign.status in FINAL:
            raise Conflict(f"the campaign is {campaign.status.value}; it can no longer change")
        if campaign.status is CampaignStatus.RUNNING:
            locked = [name for name in LOCKED_WHILE_RUNNING if name in values]
            if locked:
                raise Conflict(
                    f"{locked[0]} cannot change while the campaign is running: pause it first", field=locked[0]
                )
        if campaign.status is not CampaignStatus.DRAFT:
            fixed = [name for name in FIXED_AFTER_LAUNCH if name in values]
            if fixed:
                raise Conflict(f"{fixed[0]} is fixed once the campaign is launched", field=fixed[0])
        for name, value in (await self._check(values, campaign)).items():
            setattr(campaign, name, value)
        return await self.save(campaign)

    async def remove(self, campaign: Campaign) -> None:
        """Soft-delete a campaign that is not running; its queued attempts are cancelled."""
        if campaign.status is CampaignStatus.RUNNING:
            raise Conflict("the campaign is running: pause or cancel it before deleting it")
        now = datetime.now(UTC)
        campaign.deleted_at = now
        await self.session.execute(
            update(CampaignAttempt)
            .where(CampaignAttempt.campaign_id == campaign.id, CampaignAttempt.status == AttemptStatus.PENDING)
            .values(status=AttemptStatus.CANCELLED, ended_at=now)
        )
        await self.save(campaign)

    async def _ready_to_launch(self, campaign: Campaign) -> None:
        errors: list[FieldError] = []
        assistant = await self.session.get(Assistant, campaign.assistant_id)
        if assistant is None or not assistant.outbound_enabled:
            errors.append(FieldError("assistant_id", "the assistant does not make outbound calls"))
        if not campaign.audience_company_id and not campaign.audience_contact_ids:
            errors.append(FieldError("audience_company_id", "give an audience: a company or a list of contacts"))
        ids = [UUID(str(i)) for i in campaign.caller_number_ids]
        active = await self.session.scalar(
            select(PhoneNumber.id)
            .where(PhoneNumber.id.in_(ids), PhoneNumber.status == PhoneNumberStatus.ACTIVE)
            .limit(1)
        )
        if active is None:
            errors.append(FieldError("caller_number_ids", "none of the campaign's numbers is active"))
        if errors:
            raise Invalid.of(errors)

    async def transition(self, campaign: Campaign, wanted: CampaignStatus) -> Campaign:
        """Move the campaign along its state machine; 409 for a transition it does not allow."""
        if wanted is CampaignStatus.SCHEDULED and campaign.status is CampaignStatus.DRAFT:
            await self._ready_to_launch(campaign)
        try:
            event = await change_status(self.session, campaign, wanted, datetime.now(UTC))
        except InvalidTransition as exc:
            raise Conflict(str(exc)) from None
        saved = await self.save(campaign)
        await self.session.commit()
        announce([event])
        return saved

    async def stats(self, campaign: Campaign) -> dict[str, Any]:
        """The campaign's live figures."""
        return await campaign_stats(self.session, campaign.id)
