"""The ledger: every movement of credits is an appended entry, and the account's cached balance moves with it.

``post`` is the one way credits move. Its first statement is the balance UPDATE, which takes the account's
row lock on PostgreSQL and the write lock on SQLite, so concurrent postings of one account queue up behind
each other: the cache always equals the entries' sum, and the low-balance crossing is seen by exactly one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.billing.rates import Pricing, credits
from models import Account, CreditLedgerEntry, LedgerEntryKind

CREDITS_LOW = "credits.low"


class AlreadyCharged(Exception):
    """The call has its charge already; the posting was not made."""


@dataclass(frozen=True)
class Movement:
    """One entry to append: a signed number of credits and why."""

    kind: LedgerEntryKind
    credits: Decimal
    amount_cents: int | None = None
    call_id: UUID | None = None
    note: str | None = None
    reference: str | None = None


@dataclass
class Posted:
    """What a posting did: the balance after it, the entries written, and the events to emit after commit."""

    balance: Decimal
    entries: list[CreditLedgerEntry] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


async def post(
    session: AsyncSession,
    account_id: UUID,
    movements: list[Movement],
    pricing: Pricing,
    *,
    metered_only: bool = False,
) -> Posted | None:
    """Append ``movements`` and move the cached balance in the caller's transaction; fire auto-reload on a crossing.

    ``metered_only`` posts nothing (returns None) for an account that has no ledger yet. A movement with a
    ``call_id`` already charged raises AlreadyCharged; the caller must roll back.
    """
    delta = credits(sum((m.credits for m in movements), Decimal(0)))
    balance_col = Account.credit_balance if metered_only else func.coalesce(Account.credit_balance, 0)
    where = [Account.id == account_id] + ([Account.credit_balance.is_not(None)] if metered_only else [])
    row = (
        await session.execute(
            update(Account)
            .where(*where)
            .values(credit_balance=balance_col + delta)
            .returning(
                Account.credit_balance,
                Account.low_balance_threshold,
                Account.low_balance_armed,
                Account.auto_reload_enabled,
                Account.auto_reload_credits,
            )
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if row is None:
        return None
    balance, threshold, armed, reload_on, reload_credits = row
    # Checked under the lock just taken: a retried end-of-call handler waits here for the first one's commit.
    for m in movements:
        if m.call_id is not None and await session.scalar(
            select(exists().where(CreditLedgerEntry.call_id == m.call_id))
        ):
            raise AlreadyCharged(str(m.call_id))
    posted = Posted(balance=Decimal(balance))
    for m in movements:
        entry = CreditLedgerEntry(
            account_id=account_id,
            kind=m.kind,
            credits=credits(m.credits),
            amount_cents=m.amount_cents,
            call_id=m.call_id,
            note=m.note,
            reference=m.reference,
        )
        session.add(entry)
        posted.entries.append(entry)
    if threshold is not None:
        await _low_balance(session, account_id, posted, Decimal(threshold), armed, reload_on, reload_credits, pricing)
    await session.flush()
    return posted


async def _low_balance(
    session: AsyncSession,
    account_id: UUID,
    posted: Posted,
    threshold: Decimal,
    armed: bool,
    reload_on: bool,
    reload_credits: Decimal | None,
    pricing: Pricing,
) -> None:
    """Once per crossing below the threshold: emit credits.low and add the auto-reload; re-arm on the way up."""
    before = posted.balance
    if armed and before < threshold:
        reload = credits(Decimal(reload_credits)) if reload_on and reload_credits else Decimal(0)
        if reload > 0:
            entry = CreditLedgerEntry(
                account_id=account_id,
                kind=LedgerEntryKind.AUTO_RELOAD,
                credits=reload,
                amount_cents=pricing.price_cents(reload),
                note=f"balance {before} fell below {threshold}",
            )
            session.add(entry)
            posted.entries.append(entry)
            posted.balance = before + reload
        posted.events.append(
            (
                CREDITS_LOW,
                {
                    "account_id": str(account_id),
                    "balance": str(before),
                    "threshold": str(threshold),
                    "auto_reload_credits": str(reload),
                    "balance_after_reload": str(posted.balance),
                },
            )
        )
    # Armed again only once the balance is back at or above the threshold: a reload too small to lift it
    # above never fires a second time on the next charge (no storm).
    still_armed = posted.balance >= threshold
    if posted.balance != before or still_armed != armed:
        await session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(credit_balance=posted.balance, low_balance_armed=still_armed)
            .execution_options(synchronize_session=False)
        )


async def balance_of(session: AsyncSession, account_id: UUID) -> Decimal | None:
    """The account's cached balance; None when it has no ledger (not metered)."""
    return await session.scalar(select(Account.credit_balance).where(Account.id == account_id))


async def ledger_sum(session: AsyncSession, account_id: UUID) -> Decimal | None:
    """The balance recomputed from the entries (what the cache must always equal)."""
    return await session.scalar(
        select(func.sum(CreditLedgerEntry.credits)).where(CreditLedgerEntry.account_id == account_id)
    )
