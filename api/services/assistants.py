"""Assistants: created from a template, edited layer by layer."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.catalogue import LLM_PROVIDERS, STT_PROVIDERS, TTS_PROVIDERS, ProviderInfo
from api.billing.meter import assistant_rate
from api.billing.rates import RateCard
from api.errors import FieldError, Invalid
from api.services.assistant_templates import TEMPLATES
from api.services.base import ScopedService
from models import Assistant, AssistantTemplate, PhoneNumber
from models.repositories import AssistantRepository

_LAYERS: dict[str, dict[str, ProviderInfo]] = {
    "llm": LLM_PROVIDERS,
    "voice": TTS_PROVIDERS,
    "transcriber": STT_PROVIDERS,
}
_MODEL_KEY = {"llm": "model", "voice": "voice", "transcriber": "model"}


def _layer_values(values: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON for the struct-typed fields, with each provider's default model filled in."""
    out = {k: msgspec.to_builtins(v) if isinstance(v, (msgspec.Struct, list)) else v for k, v in values.items()}
    errors: list[FieldError] = []
    for layer, catalogue in _LAYERS.items():
        if layer not in out:
            continue
        info = catalogue[out[layer]["provider"]]
        key = _MODEL_KEY[layer]
        if not out[layer].get(key):
            out[layer][key] = info.default_model
        if not out[layer].get(key):
            errors.append(FieldError(field=f"{layer}.{key}", message=f"provider '{info.name}' needs a {key}"))
        if layer == "llm":
            if info.needs_base_url and not out[layer].get("base_url"):
                errors.append(
                    FieldError(field="llm.base_url", message="openai-compatible needs the endpoint's base_url")
                )
            elif info.base_url and not out[layer].get("base_url"):
                out[layer]["base_url"] = info.base_url
    if errors:
        raise Invalid.of(errors)
    return out


class AssistantService(ScopedService[Assistant]):
    """Assistants of one account."""

    repository_type = AssistantRepository
    noun = "assistant"

    def __init__(self, session: AsyncSession, account_id: UUID, rates: RateCard | None = None) -> None:
        super().__init__(session, account_id)
        self.rates = rates or RateCard()

    def credits_per_minute(self, item: Assistant) -> Decimal:
        """The assistant's estimated credits per minute of talk time, from the configured rates."""
        return assistant_rate(self.rates, item)

    async def add(self, values: dict[str, Any]) -> Assistant:
        """Create an assistant: the template's defaults, overridden by what the client sent."""
        template = TEMPLATES[values.get("template", AssistantTemplate.CUSTOM)]
        return await self.create(**{**template.defaults(), **_layer_values(values)})

    async def change(self, item: Assistant, values: dict[str, Any]) -> Assistant:
        """Update an assistant."""
        for name, value in _layer_values(values).items():
            setattr(item, name, value)
        return await self.save(item)

    async def numbers_of(self, assistant_ids: Sequence[UUID]) -> dict[UUID, list[str]]:
        """The phone numbers assigned to each assistant."""
        numbers: dict[UUID, list[str]] = defaultdict(list)
        if assistant_ids:
            rows = await self.session.execute(
                select(PhoneNumber.assistant_id, PhoneNumber.number)
                .where(PhoneNumber.assistant_id.in_(assistant_ids))
                .order_by(PhoneNumber.number)
            )
            for assistant_id, number in rows:
                numbers[assistant_id].append(number)
        return numbers
