"""The tool role: a function the model (or a configured phrase) may use during a call, one plug-in per kind."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agents.llm.base import Message, ToolDefinition
from media.handlers.base import CallControl


class ToolError(Exception):
    """A tool could not do its work; the message is a sentence the agent can say to the caller."""


@dataclass
class ToolContext:
    """What a running tool may see and do on its call."""

    call: CallControl
    call_id: UUID
    account_id: UUID
    history: Sequence[Message]
    """The conversation so far, in the chat format (a warm transfer briefs the supervisor from it)."""
    say: Callable[[str], Awaitable[None]]
    """Speak a line to the caller and return once it has been played (or interrupted)."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Per-deployment services a tool kind needs (an HTTP client, a dialer), set by the telephony side."""


@dataclass(frozen=True)
class ToolResult:
    """What a tool hands back: the text the model reads as the tool's answer, and what happens to the call."""

    content: str
    end_call: bool = False
    """Hang up once the agent has finished speaking."""
    left_call: bool = False
    """The agent is no longer on the call (it was transferred): stop talking at once."""


class Tool(ABC):
    """One configured tool of an assistant, shared by nothing: built per call from the assistant's settings."""

    definition: ToolDefinition

    @abstractmethod
    async def run(self, arguments: dict[str, Any], context: ToolContext) -> ToolResult:
        """Do the tool's work with the model's (already parsed) arguments; raise ToolError with a speakable reason."""


def definitions(tools: Sequence[Tool]) -> tuple[ToolDefinition, ...]:
    """The definitions the model is offered for ``tools``."""
    return tuple(tool.definition for tool in tools)
