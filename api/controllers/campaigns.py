"""``/api/crm/campaigns``: CRUD, the state-machine actions, live stats and their server-sent-events stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from api.auth import Principal
from api.pagination import Page, PageParams
from api.schemas.campaigns import CampaignCreate, CampaignOut, CampaignStatsOut, CampaignUpdate, stats_out
from api.schemas.common import changes, to_out
from api.services.campaigns import CampaignService
from models import Campaign, CampaignStatus
from scheduler.states import FINAL


def _wake(request: Request[Principal, Any, Any]) -> None:
    """Let this node's scheduler act at once rather than at its next poll."""
    scheduler = getattr(request.app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.wake()


class CampaignController(Controller):
    """Campaigns of the caller's account."""

    path = "/api/crm/campaigns"
    tags = ["campaigns"]

    @get("/")
    async def list_campaigns(
        self, campaigns_service: CampaignService, page: PageParams, status: CampaignStatus | None = None
    ) -> Page[CampaignOut]:
        """List campaigns, newest first, optionally by status."""
        filters = campaigns_service.visible() + ([Campaign.status == status] if status else [])
        items, count = await campaigns_service.page(page, *filters)
        return Page(items=[to_out(c, CampaignOut) for c in items], count=count, limit=page.limit, offset=page.offset)

    @post("/")
    async def create_campaign(self, campaigns_service: CampaignService, data: CampaignCreate) -> CampaignOut:
        """Create a draft campaign."""
        return to_out(await campaigns_service.add(changes(data)), CampaignOut)

    @get("/{campaign_id:uuid}")
    async def get_campaign(self, campaigns_service: CampaignService, campaign_id: UUID) -> CampaignOut:
        """Read one campaign."""
        return to_out(await campaigns_service.get(campaign_id), CampaignOut)

    @patch("/{campaign_id:uuid}")
    async def update_campaign(
        self, campaigns_service: CampaignService, campaign_id: UUID, data: CampaignUpdate
    ) -> CampaignOut:
        """Change a campaign; window, retries and voicemail message need it paused (409 while running)."""
        campaign = await campaigns_service.get(campaign_id)
        return to_out(await campaigns_service.change(campaign, changes(data)), CampaignOut)

    @delete("/{campaign_id:uuid}")
    async def delete_campaign(self, campaigns_service: CampaignService, campaign_id: UUID) -> None:
        """Delete (soft) a campaign that is not running."""
        await campaigns_service.remove(await campaigns_service.get(campaign_id))

    async def _move(
        self,
        campaigns_service: CampaignService,
        campaign_id: UUID,
        wanted: CampaignStatus,
        request: Request[Principal, Any, Any],
    ) -> CampaignOut:
        campaign = await campaigns_service.transition(await campaigns_service.get(campaign_id), wanted)
        _wake(request)
        return to_out(campaign, CampaignOut)

    @post("/{campaign_id:uuid}/launch", status_code=200)
    async def launch(
        self, campaigns_service: CampaignService, campaign_id: UUID, request: Request[Principal, Any, Any]
    ) -> CampaignOut:
        """Launch a draft: it starts dialling within a second, or at ``scheduled_at``."""
        return await self._move(campaigns_service, campaign_id, CampaignStatus.SCHEDULED, request)

    @post("/{campaign_id:uuid}/pause", status_code=200)
    async def pause(
        self, campaigns_service: CampaignService, campaign_id: UUID, request: Request[Principal, Any, Any]
    ) -> CampaignOut:
        """Pause a running campaign; calls in progress finish, nothing new is dialled."""
        return await self._move(campaigns_service, campaign_id, CampaignStatus.PAUSED, request)

    @post("/{campaign_id:uuid}/resume", status_code=200)
    async def resume(
        self, campaigns_service: CampaignService, campaign_id: UUID, request: Request[Principal, Any, Any]
    ) -> CampaignOut:
        """Resume a paused campaign."""
        return await self._move(campaigns_service, campaign_id, CampaignStatus.RUNNING, request)

    @post("/{campaign_id:uuid}/cancel", status_code=200)
    async def cancel(
        self, campaigns_service: CampaignService, campaign_id: UUID, request: Request[Principal, Any, Any]
    ) -> CampaignOut:
        """Cancel a campaign that has not ended; queued attempts are dropped."""
        return await self._move(campaigns_service, campaign_id, CampaignStatus.CANCELLED, request)

    @get("/{campaign_id:uuid}/stats")
    async def stats(self, campaigns_service: CampaignService, campaign_id: UUID) -> CampaignStatsOut:
        """Counts by outcome, answer and completion rates, calls in progress, queue, next attempts, recent calls."""
        campaign = await campaigns_service.get(campaign_id)
        return stats_out(campaign, await campaigns_service.stats(campaign))

    @get("/{campaign_id:uuid}/stats/stream")
    async def stats_stream(
        self,
        campaigns_service: CampaignService,
        campaign_id: UUID,
        request: Request[Principal, Any, Any],
        interval_s: Annotated[float, Parameter(ge=0.2, le=60, description="Seconds between events")] = 1.0,
        max_events: Annotated[int, Parameter(ge=1, le=3600, description="Events before the stream ends")] = 600,
    ) -> ServerSentEvent:
        """The stats as server-sent events (``event: stats``) until ``max_events`` or the campaign ends."""
        await campaigns_service.get(campaign_id)  # 404 before the stream starts
        sessions = request.app.state.sessionmaker
        account_id = campaigns_service.account_id

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            """One stats event per interval, bounded by max_events and the campaign's end."""
            # The request's session closes once headers are sent; each event reads through its own.
            for sent in range(max_events):
                async with sessions() as session:
                    service = CampaignService(session, account_id)
                    campaign = await service.get(campaign_id)
                    body = stats_out(campaign, await service.stats(campaign))
                yield ServerSentEventMessage(data=msgspec.json.encode(body).decode(), event="stats")
                if campaign.status in FINAL or sent == max_events - 1:
                    return
                await asyncio.sleep(interval_s)

        return ServerSentEvent(events())
