"""Metering calls: the charge at a call's end, the credit still free while calls run, and the per-call meter.

A live call has committed every minute it has begun (minutes round up), so what an account can still
spend is its balance minus the begun minutes of its live calls on every node (read from the call rows).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.billing.ledger import AlreadyCharged, Movement, Posted, balance_of, post
from api.billing.rates import MINUTE_S, Pricing, RateCard, billable_minutes, credits
from models import Assistant, Call, CallStatus, LedgerEntryKind

log = logging.getLogger("trunkline.credits")

# A call row still "in progress" long after the longest allowed call belongs to a node that died.
STALE_LIVE_CALL = timedelta(hours=4, minutes=5)


def assistant_rate(rates: RateCard, assistant: Assistant | None) -> Decimal:
    """Credits per minute of a call with this assistant (the telephony base alone without one)."""
    if assistant is None:
        return rates.telephony
    return rates.per_minute(assistant.transcriber, assistant.llm, assistant.voice)


@dataclass(frozen=True)
class Charge:
    """A call's charge: billed minutes, rate and credits, and the posting (None when not metered or already charged)."""

    minutes: int
    rate: Decimal
    credits: Decimal
    posted: Posted | None


async def charge_call(
    sessions: async_sessionmaker[AsyncSession], call_id: UUID, rates: RateCard, pricing: Pricing
) -> Charge | None:
    """Charge an ended call once: minutes from answer to hangup rounded up x its assistant's rate.

    Safe to call again (a retried end-of-call handler): the second call finds the charge and posts nothing.
    None when the call was never answered or has not ended.
    """
    async with sessions() as session:
        call = await session.get(Call, call_id)
        if call is None or call.answered_at is None or call.ended_at is None:
            return None
        assistant = await session.get(Assistant, call.assistant_id) if call.assistant_id else None
        account_id = call.account_id
        seconds = (call.ended_at - call.answered_at).total_seconds()
        rate = assistant_rate(rates, assistant)
    minutes = billable_minutes(seconds)
    amount = credits(rate * minutes)
    if amount <= 0:
        return Charge(minutes, rate, amount, None)
    # A fresh transaction whose first statement is post()'s balance UPDATE (see billing.ledger).
    async with sessions() as session:
        try:
            async with session.begin():
                posted = await post(
                    session,
                    account_id,
                    [Movement(LedgerEntryKind.CALL_CHARGE, -amount, call_id=call_id, note=f"{minutes} min x {rate}")],
                    pricing,
                    metered_only=True,
                )
                if posted is not None:
                    await session.execute(
                        update(Call)
                        .where(Call.id == call_id)
                        .values(credits_charged=amount)
                        .execution_options(synchronize_session=False)
                    )
        except AlreadyCharged:
            return Charge(minutes, rate, amount, None)
    return Charge(minutes, rate, amount, posted)


async def live_usage(
    session: AsyncSession,
    account_id: UUID,
    rates: RateCard,
    *,
    now: datetime | None = None,
    exclude: UUID | None = None,
    minute_s: float = MINUTE_S,
) -> Decimal:
    """Credits the account's calls in progress (on any node) have committed so far: begun minutes x rate."""
    now = now or datetime.now(UTC)
    rows = (
        await session.execute(
            select(Call.id, Call.answered_at, Assistant)
            .outerjoin(Assistant, Assistant.id == Call.assistant_id)
            .where(
                Call.account_id == account_id,
                Call.status == CallStatus.IN_PROGRESS,
                Call.answered_at.is_not(None),
                Call.ended_at.is_(None),
                Call.answered_at > now - STALE_LIVE_CALL,
            )
        )
    ).all()
    total = Decimal(0)
    for call_id, answered_at, assistant in rows:
        if call_id == exclude:
            continue
        begun = max(billable_minutes((now - answered_at).total_seconds(), minute_s), 1)
        total += assistant_rate(rates, assistant) * begun
    return credits(total)


async def available(
    session: AsyncSession, account_id: UUID, rates: RateCard, *, exclude: UUID | None = None, minute_s: float = MINUTE_S
) -> Decimal | None:
    """The balance less what live calls have committed; None when the account is not metered."""
    balance = await balance_of(session, account_id)
    if balance is None:
        return None
    return balance - await live_usage(session, account_id, rates, exclude=exclude, minute_s=minute_s)


class CallMeter:
    """Watches one live call: when its next minute would leave nothing, warns the caller and ends the call.

    At each minute boundary the call begins (and so commits) one more minute. If the credit left after that
    minute is zero or less, the call is drained: the warning is spoken ``warn_lead_s`` before the next
    boundary and the call is hung up just before it, so each live call overdraws by at most one minute.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rates: RateCard,
        *,
        call_id: UUID,
        account_id: UUID,
        rate: Decimal,
        answered_at: float,
        minute_s: float = MINUTE_S,
        warn_lead_s: float = 10.0,
        end_margin_s: float = 0.5,
        max_minutes: int = 24 * 60,
    ) -> None:
        self._sessions = sessions
        self._rates = rates
        self.call_id = call_id
        self.account_id = account_id
        self.rate = rate
        self.answered_at = answered_at
        self.minute_s = minute_s
        self.warn_lead_s = min(warn_lead_s, minute_s / 2)
        self.end_margin_s = min(end_margin_s, minute_s / 10)
        self.max_minutes = max_minutes
        self.drained_at_minute: int | None = None

    async def _sleep_until(self, elapsed_s: float) -> None:
        await asyncio.sleep(max(0.0, self.answered_at + elapsed_s - time.time()))

    async def _left_after(self, minutes: int) -> Decimal | None:
        async with self._sessions() as session:
            free = await available(session, self.account_id, self._rates, exclude=self.call_id, minute_s=self.minute_s)
        return None if free is None else free - self.rate * minutes

    async def run(self, warn: Callable[[], Any], hang_up: Callable[[], Awaitable[Any]]) -> None:
        """Check at every minute boundary until the call is drained, then warn and hang up at the next boundary."""
        for minute in range(self.max_minutes):  # bounded; the call's own end cancels this task sooner
            await self._sleep_until(minute * self.minute_s)
            try:
                left = await self._left_after(minute + 1)
            except Exception:  # a database hiccup must not end a paid call
                log.exception("credit check failed; the call goes on", extra={"call_id": str(self.call_id)})
                continue
            if left is not None and left <= 0:
                self.drained_at_minute = minute + 1
                log.info(
                    "credits drained; ending the call at minute %d", minute + 1, extra={"call_id": str(self.call_id)}
                )
                end = (minute + 1) * self.minute_s
                await self._sleep_until(end - self.warn_lead_s)
                result = warn()
                if asyncio.iscoroutine(result):
                    await result
                await self._sleep_until(end - self.end_margin_s)
                await hang_up()
                return
