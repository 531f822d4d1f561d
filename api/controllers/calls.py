"""``/api/calls``: call records with filters, transcript and analysis."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from litestar import Controller, get

from api.pagination import Page, PageParams
from api.schemas.calls import CallDetailOut, CallOut, CallTurnOut
from api.schemas.common import to_out
from api.services.calls import CallFilters, CallService
from models import CallDirection, CallStatus


class CallController(Controller):
    """Calls of the caller's account."""

    path = "/api/calls"
    tags = ["calls"]

    @get("/")
    async def list_calls(
        self,
        calls_service: CallService,
        page: PageParams,
        assistant_id: UUID | None = None,
        campaign_id: UUID | None = None,
        contact_id: UUID | None = None,
        phone_number_id: UUID | None = None,
        status: CallStatus | None = None,
        direction: CallDirection | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[CallOut]:
        """List calls, newest first."""
        filters = CallFilters(
            assistant_id=assistant_id,
            campaign_id=campaign_id,
            contact_id=contact_id,
            phone_number_id=phone_number_id,
            status=status,
            direction=direction,
            since=since,
            until=until,
        )
        items, count = await calls_service.page(page, *calls_service.where(filters))
        return Page(items=[to_out(c, CallOut) for c in items], count=count, limit=page.limit, offset=page.offset)

    @get("/{call_id:uuid}")
    async def get_call(self, calls_service: CallService, call_id: UUID) -> CallDetailOut:
        """Read one call with its transcript."""
        out = to_out(await calls_service.get(call_id), CallDetailOut)
        out.transcript = [to_out(t, CallTurnOut) for t in await calls_service.transcript(call_id)]
        return out
