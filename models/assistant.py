"""Assistants: the AI voice agents, with their five layers and call behaviour."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import AccountOwned, Base
from models.enums import AssistantTemplate, enum_column


class Assistant(AccountOwned, Base):
    """An AI voice agent. The provider layers are JSON documents validated at the API edge."""

    name: Mapped[str] = mapped_column(String(200))
    template: Mapped[AssistantTemplate] = mapped_column(enum_column(AssistantTemplate))
    # layer 1: the prompt
    system_prompt: Mapped[str] = mapped_column(Text)
    first_message: Mapped[str | None] = mapped_column(Text, default=None)
    # layers 2-4: {"provider": ..., "model": ..., ...}
    llm: Mapped[dict[str, Any]] = mapped_column(JsonB)
    voice: Mapped[dict[str, Any]] = mapped_column(JsonB)
    transcriber: Mapped[dict[str, Any]] = mapped_column(JsonB)
    # layer 5: telephony (assigned numbers live on PhoneNumber.assistant_id)
    inbound_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    outbound_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    region: Mapped[str | None] = mapped_column(String(64), default=None)
    # call behaviour
    end_call_phrases: Mapped[list[str]] = mapped_column(JsonB, default=list)
    max_call_duration_s: Mapped[int] = mapped_column(Integer, default=600)
    silence_timeout_s: Mapped[int] = mapped_column(Integer, default=20)
    recording_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    voicemail_message: Mapped[str | None] = mapped_column(Text, default=None)
    tools: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    analysis: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
