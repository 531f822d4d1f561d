"""The one "may this account dial?" rule: the metering policy of the credit ledger."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Account

CreditCheck = Callable[[AsyncSession, UUID], Awaitable[bool]]


async def has_credit(session: AsyncSession, account_id: UUID) -> bool:
    """True when the account's cached balance is positive, or when it has no ledger at all (not metered)."""
    # Metering starts with an account's first ledger entry (a top-up): refusing accounts that never bought
    # credits would stop every campaign of a fresh self-hosted install. Calls in progress are not subtracted:
    # each of them is bounded by its own meter to one minute past zero.
    balance = await session.scalar(select(Account.credit_balance).where(Account.id == account_id))
    return balance is None or balance > 0
