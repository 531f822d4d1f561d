"""The credit ledger: append-only entries; the balance is their sum."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import AccountOwned, Base
from models.enums import LedgerEntryKind, enum_column


class CreditLedgerEntry(AccountOwned, Base):
    """One movement of credits; a call is charged once (call_id is unique)."""

    kind: Mapped[LedgerEntryKind] = mapped_column(enum_column(LedgerEntryKind))
    credits: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    amount_cents: Mapped[int | None] = mapped_column(Integer, default=None)
    call_id: Mapped[UUID | None] = mapped_column(ForeignKey("call.id", ondelete="SET NULL"), default=None, unique=True)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    reference: Mapped[str | None] = mapped_column(String(200), default=None)
