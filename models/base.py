"""The declarative base and the mixin every tenant-owned table uses."""

from __future__ import annotations

from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

# UUIDv7 ids sort by creation time, so "newest first" needs no extra index.
Base = UUIDv7AuditBase


class AccountOwned:
    """A row that belongs to one account (tenant); every API query filters on this column."""

    account_id: Mapped[UUID] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
