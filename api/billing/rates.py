"""Per-minute credit rates of providers and the money → credits packages; plain values, set in the config."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

CREDIT_PLACES = Decimal("0.0001")  # the ledger's Numeric(14, 4)
MINUTE_S = 60


def credits(value: Decimal) -> Decimal:
    """A credit amount rounded to the ledger's four places."""
    return value.quantize(CREDIT_PLACES, rounding=ROUND_HALF_UP)


def billable_minutes(seconds: float, minute_s: float = MINUTE_S) -> int:
    """Minutes of talk time charged for ``seconds``: rounded up, so 0.3 s is one minute and 60.0 s too."""
    # Millisecond rounding first: 60.0000001 s of float noise must not become two minutes.
    return math.ceil(round(max(seconds, 0.0), 3) / minute_s)


class _Plain(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateCard(_Plain):
    """Credits per minute of each provider (``provider`` or ``provider/model``) plus the telephony base."""

    telephony: Decimal = Field(Decimal("0.40"), ge=0, le=1000, decimal_places=4)
    # Local engines cost only this machine's CPU; cloud ones are billed by their vendor, so they cost more.
    stt: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "faster-whisper": Decimal("0.10"),
            "openai": Decimal("0.20"),
            "deepgram": Decimal("0.20"),
        }
    )
    llm: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "local": Decimal("0.10"),
            "openai-compatible": Decimal("0.20"),
            "openai": Decimal("0.30"),
            "openai/gpt-4o": Decimal("0.60"),
            "anthropic": Decimal("0.40"),
            "gemini": Decimal("0.20"),
            "deepseek": Decimal("0.20"),
            "qwen": Decimal("0.20"),
            "kimi": Decimal("0.30"),
        }
    )
    tts: dict[str, Decimal] = Field(
        default_factory=lambda: {
            "piper": Decimal("0.10"),
            "openai": Decimal("0.30"),
            "elevenlabs": Decimal("0.60"),
            "cartesia": Decimal("0.40"),
        }
    )
    unknown_cloud: Decimal = Field(
        Decimal("0.60"), ge=0, le=1000, decimal_places=4, description="Rate of a provider missing from the card"
    )

    @field_validator("stt", "llm", "tts")
    @classmethod
    def _rates_in_range(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for name, rate in value.items():
            if not Decimal(0) <= rate <= 1000 or rate != credits(rate):
                raise ValueError(f"{name}: a rate is 0-1000 credits per minute with at most 4 decimal places")
        return value

    def layer_rate(self, table: Mapping[str, Decimal], layer: Mapping[str, Any]) -> Decimal:
        """The rate of one provider layer: its ``provider/model`` entry, else its provider's, else unknown_cloud."""
        provider = str(layer.get("provider") or "")
        model = layer.get("model")
        if model and f"{provider}/{model}" in table:
            return table[f"{provider}/{model}"]
        return table.get(provider, self.unknown_cloud)

    def breakdown(
        self, transcriber: Mapping[str, Any], llm: Mapping[str, Any], voice: Mapping[str, Any]
    ) -> dict[str, Decimal]:
        """Credits per minute of each part of an assistant and their total."""
        parts = {
            "telephony": self.telephony,
            "stt": self.layer_rate(self.stt, transcriber or {}),
            "llm": self.layer_rate(self.llm, llm or {}),
            "tts": self.layer_rate(self.tts, voice or {}),
        }
        parts["total"] = credits(sum(parts.values(), Decimal(0)))
        return parts

    def per_minute(self, transcriber: Mapping[str, Any], llm: Mapping[str, Any], voice: Mapping[str, Any]) -> Decimal:
        """The assistant's credits per minute of talk time."""
        return self.breakdown(transcriber, llm, voice)["total"]


class Package(_Plain):
    """A top-up offer: a price in dollars buys credits at the base rate plus a bonus percent."""

    id: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")
    price: Decimal = Field(gt=0, le=100_000, decimal_places=2)
    bonus_percent: Decimal = Field(Decimal(0), ge=0, le=100, decimal_places=2)


def _default_packages() -> list[Package]:
    # Larger packages earn a bonus: the product's "larger packages with a bonus".
    return [
        Package(id="p10", price=Decimal(10)),
        Package(id="p25", price=Decimal(25), bonus_percent=Decimal(5)),
        Package(id="p50", price=Decimal(50), bonus_percent=Decimal(10)),
        Package(id="p100", price=Decimal(100), bonus_percent=Decimal(15)),
        Package(id="p250", price=Decimal(250), bonus_percent=Decimal(20)),
    ]


class Pricing(_Plain):
    """What money buys: the base credits per dollar and the packages."""

    credits_per_dollar: Decimal = Field(Decimal(2), gt=0, le=10_000, decimal_places=4)
    packages: list[Package] = Field(default_factory=_default_packages)

    @field_validator("packages")
    @classmethod
    def _unique_ids(cls, value: list[Package]) -> list[Package]:
        ids = [p.id for p in value]
        if len(ids) != len(set(ids)):
            raise ValueError("package ids must be unique")
        return value

    def package(self, package_id: str) -> Package | None:
        """The package with this id, if there is one."""
        return next((p for p in self.packages if p.id == package_id), None)

    def base_credits(self, price: Decimal) -> Decimal:
        """Credits a payment of ``price`` dollars buys at the base rate."""
        return credits(price * self.credits_per_dollar)

    def bonus_credits(self, package: Package) -> Decimal:
        """The bonus credits a package adds to its base credits."""
        return credits(self.base_credits(package.price) * package.bonus_percent / 100)

    def price_cents(self, amount: Decimal) -> int:
        """What ``amount`` credits cost at the base rate, in cents (rounded up: never sold below the rate)."""
        return math.ceil(amount / self.credits_per_dollar * 100)
