"""What a conversation reports, stored as it happens: transcript turns on the call, opt-outs on the contact."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.conversation import Role, TurnTiming
from models import CallTurn, Contact, LeadStatus

log = logging.getLogger("trunkline.conversation")


class CallTranscript:
    """The telephony side of one conversation: writes its turns and carries out the caller's opt-out."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        call_id: UUID,
        account_id: UUID,
        contact_id: UUID | None,
        caller_number: str | None,
    ) -> None:
        self._sessions = sessions
        self.call_id = call_id
        self._account_id = account_id
        self._contact_id = contact_id
        self._caller_number = caller_number
        self._seq = 0

    async def turn(self, role: Role, text: str, started_at: datetime, ended_at: datetime, interrupted: bool) -> None:
        """Store one turn at once, so the transcript is readable while the call runs."""
        self._seq += 1
        row = CallTurn(
            call_id=self.call_id,
            seq=self._seq,
            role=role,
            text=text,
            started_at=started_at,
            ended_at=ended_at,
            interrupted=interrupted,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)

    async def opt_out(self) -> None:
        """Mark the contact do-not-call (inbound without a contact: the account's contact with the caller's number)."""
        async with self._sessions() as session, session.begin():
            contact_id = self._contact_id
            if contact_id is None and self._caller_number:
                contact_id = await session.scalar(
                    select(Contact.id)
                    .where(Contact.account_id == self._account_id, Contact.phone == self._caller_number)
                    .limit(1)
                )
            if contact_id is None:
                log.info("caller opted out; no contact to mark", extra={"call_id": str(self.call_id)})
                return
            await session.execute(
                update(Contact)
                .where(Contact.id == contact_id, Contact.account_id == self._account_id)
                .values(do_not_call=True, lead_status=LeadStatus.DNC)
            )
        log.info("contact marked do-not-call", extra={"call_id": str(self.call_id), "contact_id": str(contact_id)})

    def timing(self, timing: TurnTiming) -> None:
        """Log one reply's latency breakdown."""
        log.info(
            "reply latency",
            extra={
                "call_id": str(self.call_id),
                "turn_detected_ms": round(timing.turn_detected * 1000),
                "transcript_ms": round(timing.transcript_ready * 1000),
                "first_sentence_ms": round(timing.first_sentence * 1000),
                "first_audio_ms": round(timing.first_audio * 1000),
            },
        )
