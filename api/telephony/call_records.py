"""Call rows written as the call runs: created at INVITE, updated on answer and at the end.

This is also the one place call events leave: ``call.initiated``, ``call.answered`` and ``call.completed``
are emitted (through ``scheduler.events``) once the row's write has committed, carrying the call as the
API shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.schemas.calls import CallOut
from api.schemas.common import to_out
from models import Call, CallDirection, CallStatus
from scheduler import events
from sip_engine.calls import CallEnd, HangupBy, Outcome

OUTCOME_STATUS = {
    Outcome.ANSWERED: CallStatus.ANSWERED,
    Outcome.NO_ANSWER: CallStatus.NO_ANSWER,
    Outcome.BUSY: CallStatus.BUSY,
    Outcome.DECLINED: CallStatus.DECLINED,
    Outcome.ERROR: CallStatus.ERROR,
}


def call_event(call: Call) -> dict[str, Any]:
    """The payload of a call event: the owning account and the call as the API shows it."""
    return {"account_id": str(call.account_id), "call": msgspec.to_builtins(to_out(call, CallOut))}


def _at(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


class CallRecords:
    """Writes one node's call rows; every write is its own short transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def open(
        self,
        *,
        account_id: UUID,
        direction: CallDirection,
        from_number: str,
        to_number: str,
        status: CallStatus,
        **links: Any,
    ) -> UUID:
        """Create the call's row and return its id."""
        async with self._sessions() as session, session.begin():
            call = Call(
                account_id=account_id,
                direction=direction,
                from_number=from_number[:64],
                to_number=to_number[:64],
                status=status,
                started_at=datetime.now(UTC),
                **links,
            )
            session.add(call)
            await session.flush()
            payload = call_event(call)
        events.emit(events.CALL_INITIATED, payload)
        return call.id

    async def update(self, call_id: UUID, **values: Any) -> None:
        """Set columns of a call's row."""
        async with self._sessions() as session, session.begin():
            await session.execute(update(Call).where(Call.id == call_id).values(**values))

    async def _update_and_emit(self, event: str, call_id: UUID, **values: Any) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(update(Call).where(Call.id == call_id).values(**values))
            call = await session.get(Call, call_id)
            payload = call_event(call) if call is not None else None
        if payload is not None:
            events.emit(event, payload)

    async def answered(self, call_id: UUID, answered_at: float | None, sip_code: int | None = 200) -> None:
        """Mark the call as talking, and emit ``call.answered`` (a browser call has no SIP code)."""
        values = {"status": CallStatus.IN_PROGRESS, "answered_at": _at(answered_at), "sip_code": sip_code}
        await self._update_and_emit(events.CALL_ANSWERED, call_id, **values)

    async def failed(self, call_id: UUID) -> None:
        """End a call that never reached the line (no assistant, dial error) as ``error``; emits ``call.completed``."""
        await self._update_and_emit(
            events.CALL_COMPLETED,
            call_id,
            status=CallStatus.ERROR,
            ended_at=datetime.now(UTC),
            hangup_by=HangupBy.SYSTEM.value,
        )

    async def ended(self, call_id: UUID, end: CallEnd) -> None:
        """Store how the call ended (status, SIP code, who hung up, end, talk time); emits ``call.completed``."""
        duration = (end.ended_at - end.answered_at) if end.answered_at is not None else 0.0
        await self._update_and_emit(
            events.CALL_COMPLETED,
            call_id,
            status=OUTCOME_STATUS[end.outcome],
            sip_code=end.sip_code,
            hangup_by=end.hangup_by.value if end.hangup_by else None,
            ended_at=_at(end.ended_at),
            duration_s=round(max(duration, 0.0), 3),
        )
