"""The declarative base and the mixin every tenant-owned table uses."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

# UUIDv7 ids sort by creation time, so "newest first" needs no extra index.
Base = UUIDv7AuditBase


class AccountOwned:
    """A row that belongs to one account (tenant); every API query filters on this column."""

    account_id: Mapped[UUID] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)


ONLY_DIALECT = "only_dialect"


def postgres_only(index: Index) -> Index:
    """Mark an index (GIN, trigram) that only PostgreSQL builds; SQLite has no use for it."""
    index.info[ONLY_DIALECT] = "postgresql"
    return index.ddl_if(dialect="postgresql")


def belongs_to_dialect(obj: Any, dialect: str) -> bool:
    """Whether schema object ``obj`` exists on ``dialect`` (Alembic's comparison does not know ddl_if)."""
    wanted = getattr(obj, "info", {}).get(ONLY_DIALECT)
    return wanted is None or wanted == dialect
