"""Billing of one account: balance and estimates, the ledger, packages, admin top-ups and auto-reload."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from uuid import UUID

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.billing.ledger import Movement, Posted, post
from api.billing.meter import live_usage
from api.billing.rates import CREDIT_PLACES, Package
from api.config import CreditSettings
from api.errors import FieldError, Invalid
from api.pagination import PageParams
from api.schemas.billing import (
    AssistantEstimateOut,
    AutoReloadIn,
    AutoReloadOut,
    CreditsOut,
    PackageOut,
    TopUpIn,
)
from api.services.base import ScopedService
from models import Account, Assistant, CreditLedgerEntry, LedgerEntryKind
from models.repositories import CreditLedgerEntryRepository
from scheduler import events

MAX_CREDITS = Decimal(1_000_000)
MAX_AMOUNT = Decimal(100_000)
CENT = Decimal("0.01")


def announce(posted: Posted) -> None:
    """Emit a committed posting's events (``credits.low``) where every event leaves: scheduler.events."""
    for name, payload in posted.events:
        events.emit(name, payload)


def _decimal(value: Decimal, field: str, *, places: Decimal, low: Decimal, high: Decimal, zero: bool = True) -> Decimal:
    """``value`` when finite, in [low, high] (non-zero unless allowed) with at most ``places``; 422 naming ``field``."""
    if not value.is_finite() or not low <= value <= high:
        raise Invalid(f"{field}: must be between {low} and {high}", field=field)
    if not zero and value == 0:
        raise Invalid(f"{field}: must not be zero", field=field)
    if value != value.quantize(places):
        raise Invalid(f"{field}: at most {abs(places.as_tuple().exponent)} decimal places", field=field)
    return value.quantize(places)


class BillingService(ScopedService[CreditLedgerEntry]):
    """The credits of one account."""

    repository_type = CreditLedgerEntryRepository
    noun = "ledger entry"

    def __init__(self, session: AsyncSession, account_id: UUID, settings: CreditSettings) -> None:
        super().__init__(session, account_id)
        self.settings = settings

    async def _account(self) -> Account:
        account = await self.session.get(Account, self.account_id, populate_existing=True)
        assert account is not None  # the API key's account exists while the key does
        return account

    def package_out(self, package: Package) -> PackageOut:
        """A package with the credits it buys."""
        pricing = self.settings.pricing
        base, bonus = pricing.base_credits(package.price), pricing.bonus_credits(package)
        return PackageOut(
            id=package.id,
            price=package.price,
            credits=base,
            bonus_percent=package.bonus_percent,
            bonus_credits=bonus,
            total_credits=base + bonus,
        )

    def packages(self) -> list[PackageOut]:
        """The packages on offer, cheapest first."""
        return [self.package_out(p) for p in sorted(self.settings.pricing.packages, key=lambda p: p.price)]

    def auto_reload_out(self, account: Account) -> AutoReloadOut:
        """The account's auto-reload settings."""
        amount = account.auto_reload_credits
        return AutoReloadOut(
            enabled=account.auto_reload_enabled,
            threshold=account.low_balance_threshold,
            credits=amount,
            price_cents=self.settings.pricing.price_cents(amount) if amount else None,
        )

    async def summary(self) -> CreditsOut:
        """Balance, credits held by live calls, and the per-minute estimate of every assistant."""
        account = await self._account()
        rates = self.settings.rates
        held = await live_usage(self.session, self.account_id, rates)
        free = account.credit_balance - held if account.credit_balance is not None else None
        estimates = []
        for assistant in await self.session.scalars(
            select(Assistant).where(Assistant.account_id == self.account_id).order_by(Assistant.name)
        ):
            parts = rates.breakdown(assistant.transcriber, assistant.llm, assistant.voice)
            rate = parts.pop("total")
            left = int(max(free, Decimal(0)) // rate) if free is not None and rate > 0 else None
            estimates.append(AssistantEstimateOut(assistant.id, assistant.name, rate, parts, left))
        return CreditsOut(
            balance=account.credit_balance,
            metered=account.credit_balance is not None,
            in_live_calls=held,
            available=free,
            telephony_rate=rates.telephony,
            auto_reload=self.auto_reload_out(account),
            estimates=estimates,
        )

    async def entries(
        self, page: PageParams, kind: LedgerEntryKind | None, call_id: UUID | None
    ) -> tuple[Sequence[CreditLedgerEntry], int]:
        """One page of the ledger, newest first."""
        filters = [CreditLedgerEntry.kind == kind] if kind else []
        if call_id is not None:
            filters.append(CreditLedgerEntry.call_id == call_id)
        return await self.page(page, *filters)

    def _movements(self, data: TopUpIn) -> list[Movement]:
        given = [f for f in ("package", "amount", "credits") if getattr(data, f) is not msgspec.UNSET]
        if len(given) != 1:
            errors = [FieldError(f, "give exactly one of package, amount or credits") for f in given or ["package"]]
            raise Invalid.of(errors)
        pricing, note, ref = self.settings.pricing, data.note, data.reference
        if isinstance(data.package, str):
            package = pricing.package(data.package)
            if package is None:
                known = ", ".join(p.id for p in pricing.packages)
                raise Invalid(f"package: unknown package '{data.package[:40]}'; expected one of {known}", "package")
            cents = int(package.price * 100)
            moves = [Movement(LedgerEntryKind.PURCHASE, pricing.base_credits(package.price), cents, None, note, ref)]
            if (bonus := pricing.bonus_credits(package)) > 0:
                moves.append(Movement(LedgerEntryKind.BONUS, bonus, None, None, f"{package.bonus_percent}% bonus", ref))
            return moves
        if isinstance(data.amount, Decimal):
            amount = _decimal(data.amount, "amount", places=CENT, low=CENT, high=MAX_AMOUNT)
            cents = int(amount * 100)
            return [Movement(LedgerEntryKind.PURCHASE, pricing.base_credits(amount), cents, None, note, ref)]
        assert isinstance(data.credits, Decimal)
        change = _decimal(data.credits, "credits", places=CREDIT_PLACES, low=-MAX_CREDITS, high=MAX_CREDITS, zero=False)
        return [Movement(LedgerEntryKind.ADJUSTMENT, change, None, None, note, ref)]

    async def top_up(self, data: TopUpIn) -> Posted:
        """Add a purchase (a package or an amount) or an adjustment, commit it, then emit its events."""
        posted = await post(self.session, self.account_id, self._movements(data), self.settings.pricing)
        assert posted is not None  # not metered_only: the first entry starts the ledger
        await self.session.commit()
        announce(posted)
        return posted

    async def auto_reload(self) -> AutoReloadOut:
        """The account's auto-reload settings."""
        return self.auto_reload_out(await self._account())

    async def set_auto_reload(self, data: AutoReloadIn) -> AutoReloadOut:
        """Set threshold and reload credits; armed when the balance is at or above the threshold now."""
        threshold = _decimal(data.threshold, "threshold", places=CREDIT_PLACES, low=Decimal(0), high=MAX_CREDITS)
        amount = data.credits
        if amount is not None:
            amount = _decimal(amount, "credits", places=CREDIT_PLACES, low=Decimal(0), high=MAX_CREDITS, zero=False)
        elif data.enabled:
            raise Invalid("credits: needed when auto-reload is enabled", field="credits")
        # One UPDATE, first statement of the transaction: it queues behind concurrent postings like they do.
        await self.session.execute(
            update(Account)
            .where(Account.id == self.account_id)
            .values(
                low_balance_threshold=threshold,
                auto_reload_credits=amount,
                auto_reload_enabled=data.enabled,
                low_balance_armed=Account.credit_balance.is_(None) | (Account.credit_balance >= threshold),
            )
            .execution_options(synchronize_session=False)
        )
        return await self.auto_reload()
