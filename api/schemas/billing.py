"""Billing bodies: balance and estimates, ledger entries, packages, top-ups and auto-reload. Credits are decimals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from models import LedgerEntryKind

# Ranges and decimal places are checked by the service, so a bad value answers 422 naming its field.
Credits = Annotated[Decimal, Meta(description="Credits, up to 4 decimal places (a JSON number or a string)")]
Money = Annotated[Decimal, Meta(description="US dollars, up to 2 decimal places (a JSON number or a string)")]
Note = Annotated[str, Meta(max_length=500)]
Reference = Annotated[str, Meta(max_length=200, description="Your payment or order reference")]


class LedgerEntryOut(msgspec.Struct):
    """One movement of credits: positive adds, negative spends."""

    id: UUID
    kind: LedgerEntryKind
    credits: Decimal
    amount_cents: int | None
    call_id: UUID | None
    note: str | None
    reference: str | None
    created_at: datetime


class AssistantEstimateOut(msgspec.Struct):
    """What a minute with one assistant costs, by part, and how many minutes the balance still buys."""

    assistant_id: UUID
    name: str
    credits_per_minute: Decimal
    parts: dict[str, Decimal]
    minutes_left: int | None


class AutoReloadOut(msgspec.Struct):
    """The low-balance threshold and the credits auto-reload adds when the balance falls below it."""

    enabled: bool
    threshold: Decimal | None
    credits: Decimal | None
    price_cents: int | None


class CreditsOut(msgspec.Struct):
    """The balance (null: not metered until the first top-up), what live calls hold, and per-assistant estimates."""

    balance: Decimal | None
    metered: bool
    in_live_calls: Decimal
    available: Decimal | None
    telephony_rate: Decimal
    auto_reload: AutoReloadOut
    estimates: list[AssistantEstimateOut]


class PackageOut(msgspec.Struct):
    """A top-up package: its price in dollars buys base credits plus a bonus."""

    id: str
    price: Decimal
    credits: Decimal
    bonus_percent: Decimal
    bonus_credits: Decimal
    total_credits: Decimal


class TopUpIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Exactly one of: ``package`` (an id), ``amount`` (dollars paid), or ``credits`` (a signed adjustment)."""

    package: Annotated[str, Meta(max_length=40)] | msgspec.UnsetType = msgspec.UNSET
    amount: Money | msgspec.UnsetType = msgspec.UNSET
    credits: Credits | msgspec.UnsetType = msgspec.UNSET
    note: Note | None = None
    reference: Reference | None = None


class TopUpOut(msgspec.Struct):
    """The entries a top-up wrote and the balance after it."""

    balance: Decimal
    entries: list[LedgerEntryOut]


class AutoReloadIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Set the low-balance threshold and the auto-reload; ``credits`` is needed when ``enabled``."""

    enabled: bool
    threshold: Credits
    credits: Credits | None = None
