"""The node's implementation of the scheduler's Dialer: campaign attempts become outbound calls on this node."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.telephony.node import TelephonyNode
from models import Assistant, Call, CallStatus
from scheduler.dialing import CallCreated, DialRequest, DialResult


class NodeDialer:
    """Dials campaign attempts through the node's SIP engine, at most ``max_calls`` at a time."""

    def __init__(self, node: TelephonyNode, sessions: async_sessionmaker[AsyncSession], max_calls: int) -> None:
        self._node = node
        self._sessions = sessions
        self._max_calls = max_calls
        self._active = 0

    def free_slots(self) -> int:
        """Slots left under the campaign limit and under the node's own, which inbound calls use too."""
        return max(0, min(self._max_calls - self._active, self._node.engine.free_slots()))

    async def dial(self, request: DialRequest, on_call: CallCreated) -> DialResult:
        """Place the call, tell the scheduler its row, wait for its end and read the outcome from the row."""
        self._active += 1
        try:
            async with self._sessions() as session:
                assistant = await session.get(Assistant, request.assistant_id)
            if assistant is None:
                return DialResult(outcome=CallStatus.ERROR)
            route = self._node.routes.lookup(request.caller_id)
            if route is None or route.trunk_id != request.trunk_id:
                # The number or trunk was made through another node since this one last refreshed (every 5 s).
                await self._node.refresh()
            call_id, ended = await self._node.start_outbound(
                account_id=request.account_id,
                assistant=assistant,
                trunk_id=request.trunk_id,
                caller_id=request.caller_id,
                destination=request.destination,
                phone_number_id=request.phone_number_id,
                contact_id=request.contact_id,
                company_id=request.company_id,
                campaign_id=request.campaign_id,
            )
            await on_call(call_id)
            await asyncio.shield(ended)
            async with self._sessions() as session:
                call = await session.get(Call, call_id)
            if call is None:
                return DialResult(outcome=CallStatus.ERROR, call_id=call_id)
            # A row that never reached an outcome (the engine failed mid-way) counts as an error.
            final = call.status not in (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS)
            return DialResult(
                outcome=call.status if final else CallStatus.ERROR,
                call_id=call_id,
                sip_code=call.sip_code,
                duration_s=call.duration_s,
            )
        finally:
            self._active -= 1
