"""Assistant bodies: the five layers, call behaviour, tools and analysis settings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from agents.catalogue import LlmProviderName, SttProviderName, TtsProviderName
from api.schemas.common import LongText, Name, Prompt, ShortText
from models import AssistantTemplate

ModelName = Annotated[str, Meta(max_length=200)]
Url = Annotated[str, Meta(max_length=500, pattern=r"^https?://[^\s]+$")]
Phrase = Annotated[str, Meta(min_length=1, max_length=200)]


class LlmLayer(msgspec.Struct, forbid_unknown_fields=True):
    """The language model: a provider, a model and how it samples."""

    provider: LlmProviderName
    model: ModelName = ""
    temperature: Annotated[float, Meta(ge=0, le=2)] = 0.6
    max_tokens: Annotated[int, Meta(ge=16, le=4096)] = 200
    base_url: Url | None = None


class VoiceLayer(msgspec.Struct, forbid_unknown_fields=True):
    """The voice (text-to-speech)."""

    provider: TtsProviderName
    voice: ModelName = ""
    model: ModelName | None = None
    speed: Annotated[float, Meta(ge=0.5, le=2.0)] = 1.0


class TranscriberLayer(msgspec.Struct, forbid_unknown_fields=True):
    """The transcriber (speech-to-text); the language is fixed, never auto-detected."""

    provider: SttProviderName
    model: ModelName = ""
    language: Annotated[str, Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")] = "en"


class ToolSpec(msgspec.Struct, forbid_unknown_fields=True):
    """A function tool the assistant may use during a call."""

    type: Literal["end_call", "transfer", "extract", "scheduling", "webhook", "dtmf"]
    name: Annotated[str, Meta(pattern=r"^[a-zA-Z][a-zA-Z0-9_]{0,63}$")] | None = None
    description: LongText | None = None
    config: dict[str, Any] = msgspec.field(default_factory=dict)


class AnalysisSettings(msgspec.Struct, forbid_unknown_fields=True):
    """What post-call analysis produces."""

    summary_prompt: LongText | None = None
    success_criteria: LongText | None = None
    structured_schema: dict[str, Any] | None = None
    extract_fields: list[Annotated[str, Meta(max_length=64)]] = msgspec.field(default_factory=list)
    create_missing_fields: bool = False


class _AssistantFields(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    system_prompt: Prompt | UnsetType = UNSET
    first_message: LongText | UnsetType | None = UNSET
    llm: LlmLayer | UnsetType = UNSET
    voice: VoiceLayer | UnsetType = UNSET
    transcriber: TranscriberLayer | UnsetType = UNSET
    inbound_enabled: bool | UnsetType = UNSET
    outbound_enabled: bool | UnsetType = UNSET
    region: ShortText | UnsetType | None = UNSET
    end_call_phrases: Annotated[list[Phrase], Meta(max_length=50)] | UnsetType = UNSET
    max_call_duration_s: Annotated[int, Meta(ge=10, le=14_400)] | UnsetType = UNSET
    silence_timeout_s: Annotated[int, Meta(ge=3, le=600)] | UnsetType = UNSET
    recording_enabled: bool | UnsetType = UNSET
    voicemail_message: LongText | UnsetType | None = UNSET
    tools: Annotated[list[ToolSpec], Meta(max_length=50)] | UnsetType = UNSET
    analysis: AnalysisSettings | UnsetType = UNSET


class AssistantCreate(_AssistantFields, kw_only=True):
    """A new assistant; whatever is left out comes from the template."""

    name: Name
    template: AssistantTemplate = AssistantTemplate.CUSTOM


class AssistantUpdate(_AssistantFields, kw_only=True):
    """Changes to an assistant; omitted fields stay as they are."""

    name: Name | UnsetType = UNSET


class AssistantOut(msgspec.Struct):
    """An assistant with its assigned phone numbers."""

    id: UUID
    name: str
    template: AssistantTemplate
    system_prompt: str
    first_message: str | None
    llm: dict[str, Any]
    voice: dict[str, Any]
    transcriber: dict[str, Any]
    inbound_enabled: bool
    outbound_enabled: bool
    region: str | None
    end_call_phrases: list[str]
    max_call_duration_s: int
    silence_timeout_s: int
    recording_enabled: bool
    voicemail_message: str | None
    tools: list[dict[str, Any]]
    analysis: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    phone_numbers: list[str] = msgspec.field(default_factory=list)
    # Estimated from the configured provider rates; GET /api/billing/credits shows the parts.
    credits_per_minute: Decimal | None = None


class TemplateOut(msgspec.Struct):
    """An assistant template and the values it fills in."""

    id: AssistantTemplate
    title: str
    description: str
    defaults: dict[str, Any]
