"""Accounts (tenants) and their API keys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import AccountOwned, Base


class Account(Base):
    """A tenant: a company using this Trunkline installation."""

    name: Mapped[str] = mapped_column(String(200))
    # The sum of the account's ledger entries, kept in the same transaction as each entry (api.billing.ledger);
    # NULL until the first entry: an account that never bought credits is not metered.
    credit_balance: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), default=None)
    low_balance_threshold: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), default=None)
    auto_reload_credits: Mapped[Decimal | None] = mapped_column(Numeric(14, 4), default=None)
    auto_reload_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # True while the balance is at or above the threshold: a crossing below fires once, then waits for a rise.
    low_balance_armed: Mapped[bool] = mapped_column(Boolean, default=True)
    api_keys: Mapped[list[ApiKey]] = relationship(back_populates="account", cascade="all, delete-orphan", lazy="noload")


class ApiKey(AccountOwned, Base):
    """A bearer key: only its SHA-256 is stored; the prefix identifies it in lists and logs."""

    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JsonB)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)

    account: Mapped[Account] = relationship(back_populates="api_keys", lazy="noload")
