"""Accounts (tenants) and their API keys."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import AccountOwned, Base


class Account(Base):
    """A tenant: a company using this Trunkline installation."""

    name: Mapped[str] = mapped_column(String(200))
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
