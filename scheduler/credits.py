"""The one "may this account dial?" rule; the credits issue replaces it with the metering policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import CreditLedgerEntry

CreditCheck = Callable[[AsyncSession, UUID], Awaitable[bool]]


async def has_credit(session: AsyncSession, account_id: UUID) -> bool:
    """True when the account's ledger is positive, or when it has no ledger at all (metering not in use)."""
    # An account that never bought credits is not metered yet (credits are not built): refusing it would stop
    # every campaign of a fresh install. Once an account has entries, a balance at or below zero pauses dialling.
    balance = await session.scalar(
        select(func.sum(CreditLedgerEntry.credits)).where(CreditLedgerEntry.account_id == account_id)
    )
    return balance is None or balance > 0
