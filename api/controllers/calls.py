"""``/api/calls``: call records with filters, transcript and analysis."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.response import File

from api.auth import Principal
from api.errors import NotFound, Unavailable
from api.pagination import Page, PageParams
from api.schemas.calls import CallCreate, CallDetailOut, CallOut, CallTurnOut
from api.schemas.common import to_out
from api.services.calls import CallFilters, CallService, OutboundCallChecks
from api.telephony.node import recording_file
from models import CallDirection, CallStatus
from sip_engine.engine import CapacityError


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

    @post("/", status_code=201)
    async def place_call(
        self, calls_service: CallService, data: CallCreate, request: Request[Principal, Any, Any]
    ) -> CallOut:
        """Place an outbound call; it dials at once and its row follows it (ringing, in progress, outcome)."""
        checked = await OutboundCallChecks(calls_service, request.app.state.settings.crm.default_region).check(data)
        node = request.app.state.telephony
        if node is None:
            raise Unavailable("the SIP engine is not running on this node (sip.enabled is false)")
        try:
            call_id = await node.place_call(
                account_id=calls_service.account_id,
                assistant=checked.assistant,
                trunk_id=checked.trunk.id,
                caller_id=checked.number.number,
                destination=checked.destination,
                phone_number_id=checked.number.id,
                contact_id=checked.contact.id if checked.contact else None,
                company_id=checked.contact.company_id if checked.contact else None,
            )
        except CapacityError as exc:
            raise Unavailable(str(exc)) from None
        return to_out(await calls_service.get(call_id), CallOut)

    @get("/{call_id:uuid}/recording", media_type="audio/wav")
    async def get_recording(
        self, calls_service: CallService, call_id: UUID, request: Request[Principal, Any, Any]
    ) -> File:
        """The call's stereo WAV recording: caller on the left channel, agent on the right."""
        call = await calls_service.get(call_id)
        if not call.recording_path:
            raise NotFound(f"call {call_id} has no recording")
        try:
            path = recording_file(request.app.state.settings, call.recording_path)
        except ValueError:
            raise NotFound(f"call {call_id} has no recording") from None
        if not path.is_file():
            raise NotFound(f"the recording of call {call_id} is missing on this node")
        return File(
            path=path, filename=f"call-{call_id}.wav", media_type="audio/wav", content_disposition_type="inline"
        )

    @get("/{call_id:uuid}")
    async def get_call(self, calls_service: CallService, call_id: UUID) -> CallDetailOut:
        """Read one call with its transcript."""
        out = to_out(await calls_service.get(call_id), CallDetailOut)
        out.transcript = [to_out(t, CallTurnOut) for t in await calls_service.transcript(call_id)]
        return out
