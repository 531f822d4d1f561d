"""OpenAI-compatible chat completions: OpenAI, DeepSeek, Qwen, Kimi, Gemini's OpenAI endpoint, Ollama, llama.cpp."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents.clients import SharedClients
from agents.llm.base import LanguageModel, LlmError, LlmEvent, Message, TextDelta, ToolCall, ToolDefinition
from agents.openai_endpoint import OpenAIEndpoint


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAILanguageModel(LanguageModel):
    """A chat model behind any OpenAI-compatible ``/chat/completions`` endpoint, streamed."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str,
        model: str,
        temperature: float = 0.6,
        max_tokens: int = 200,
        timeout_s: float = 30.0,
        clients: SharedClients | None = None,
    ) -> None:
        """Borrow the process's client for this endpoint (or create one); nothing is sent yet."""
        self._model = model
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._timeout_s = timeout_s
        self._endpoint = OpenAIEndpoint(api_key=api_key, base_url=base_url, timeout_s=timeout_s, clients=clients)

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> AsyncIterator[LlmEvent]:
        """Stream the reply's text deltas, then every tool call the model assembled."""
        request: dict[str, Any] = {
            "model": self._model,
            "messages": list(messages),
            "temperature": self._temperature,
            "max_tokens": self._max_tokens,
            "stream": True,
        }
        if tools:
            # Some compatible servers reject an empty tools list, so it is only sent when there are tools.
            request["tools"] = [_function_tool(tool) for tool in tools]
        calls: list[_PendingCall] = []
        slots: dict[int, int] = {}
        ep = self._endpoint
        try:
            response = await ep.client.chat.completions.create(**request)
            # ``async with`` closes the HTTP response when the caller stops reading early (barge-in).
            async with response as chunks:
                async for chunk in chunks:
                    if not chunk.choices:
                        continue
                    delta = chunk.choices[0].delta
                    if delta.content:
                        yield TextDelta(delta.content)
                    for fragment in delta.tool_calls or ():
                        _absorb(fragment, calls, slots)
        except Exception as exc:
            message = ep.failure(exc)
            if message is None:
                raise
            raise LlmError(message) from None
        for number, call in enumerate(calls):
            if not call.name:
                raise LlmError(f"{ep.host} streamed a tool call without a function name")
            # Some local servers leave the id out; the conversation still needs one to pair the tool result.
            call_id = call.id or f"call_{number}"
            yield ToolCall(id=call_id, name=call.name, arguments="".join(call.arguments) or "{}")

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._endpoint.aclose()


def _function_tool(tool: ToolDefinition) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def _absorb(fragment: Any, calls: list[_PendingCall], slots: dict[int, int]) -> None:
    index = fragment.index if fragment.index is not None else len(slots)
    slot = slots.get(index)
    # Ollama numbers every call of a parallel batch index 0 and tells them apart only by id.
    if slot is None or (fragment.id and calls[slot].id and fragment.id != calls[slot].id):
        calls.append(_PendingCall())
        slot = slots[index] = len(calls) - 1
    call = calls[slot]
    if fragment.id:
        call.id = fragment.id
    function = fragment.function
    if function is not None:
        if function.name:
            call.name = function.name
        if function.arguments:
            call.arguments.append(function.arguments)
