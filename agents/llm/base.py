"""The language-model role: a chat history in, a stream of text and tool calls out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

Message = dict[str, Any]
"""A chat message in the OpenAI chat format (role, content, tool_calls, tool_call_id)."""


class LlmError(Exception):
    """A completion failed (provider unreachable, rejected the key, malformed stream)."""


@dataclass(frozen=True)
class ToolDefinition:
    """A function the model may call: its name, what it does and its JSON-schema parameters."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class TextDelta:
    """The next piece of the reply's text."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """The model asks to run a tool; ``arguments`` is the JSON text the model produced."""

    id: str
    name: str
    arguments: str


LlmEvent = TextDelta | ToolCall


class LanguageModel(ABC):
    """A language-model provider, shared by every call that uses the same settings."""

    @abstractmethod
    def stream(self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()) -> AsyncIterator[LlmEvent]:
        """Stream the reply to ``messages``: text deltas as they come, then any complete tool calls."""

    async def complete(self, messages: Sequence[Message]) -> str:
        """Return the whole text reply to ``messages`` (post-call analysis uses this)."""
        parts = [event.text async for event in self.stream(messages) if isinstance(event, TextDelta)]
        return "".join(parts)

    async def aclose(self) -> None:
        """Release provider-wide resources (HTTP clients, models)."""
        return None
