"""Credits on this node's calls: the inbound gate, the meter beside each live call and the charge at its end."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.billing.meter import CallMeter, Charge, assistant_rate, available, charge_call
from api.config import CreditSettings
from api.services.billing import announce
from api.telephony.routing import InboundRoute
from media.handlers.base import AudioHandler
from models import Assistant
from sip_engine.calls import HangupBy, SipCall

log = logging.getLogger("trunkline.credits")

REFUSAL = "the account's credit balance is zero"


class CallMetering:
    """What the telephony node asks about credits, in one place."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: CreditSettings) -> None:
        self._sessions = sessions
        self.settings = settings

    async def has_credit(self, account_id: UUID) -> bool:
        """Whether the account may start a call: credit left after what live calls hold, or not metered."""
        async with self._sessions() as session:
            free = await available(session, account_id, self.settings.rates)
        return free is None or free > 0

    async def inbound_gate(self, route: InboundRoute) -> str | None:
        """Refuse an inbound call (the caller hears "not available") when the account has no credit left."""
        return None if await self.has_credit(route.account_id) else REFUSAL

    def meter(self, call: SipCall, call_id: UUID, account_id: UUID, assistant: Assistant | None) -> CallMeter | None:
        """The meter of an answered call (None without an answer time)."""
        if call.answered_at is None:
            return None
        return CallMeter(
            self._sessions,
            self.settings.rates,
            call_id=call_id,
            account_id=account_id,
            rate=assistant_rate(self.settings.rates, assistant),
            answered_at=call.answered_at,
        )

    async def watch(self, meter: CallMeter, call: SipCall, handler: AudioHandler) -> None:
        """Run the meter: a drained call hears the warning (when its handler can speak) and is hung up."""

        def warn() -> Any:
            finish = getattr(handler, "finish_with", None)
            return finish(self.settings.drain_warning) if finish is not None else None

        async def hang_up() -> None:
            if not call.closed:
                await call.hangup(HangupBy.SYSTEM)

        await meter.run(warn, hang_up)

    async def charge(self, call_id: UUID) -> Charge | None:
        """Charge an ended call (once) and emit ``credits.low`` if it crossed the threshold; never raises."""
        try:
            charge = await charge_call(self._sessions, call_id, self.settings.rates, self.settings.pricing)
        except Exception:
            log.exception("charging the call failed", extra={"call_id": str(call_id)})
            return None
        if charge is not None and charge.posted is not None:
            announce(charge.posted)
        return charge
