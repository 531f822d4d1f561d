"""OpenAI-compatible chat completions: OpenAI, DeepSeek, Qwen, Kimi, Gemini's OpenAI endpoint, Ollama, llama.cpp."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
from openai import AsyncOpenAI

from agents.llm.base import LanguageModel, LlmError, LlmEvent, Message, TextDelta, ToolCall, ToolDefinition

# openai 3 reads responses through httpx2 (older releases through httpx); errors while reading a streamed
# body come unwrapped from whichever it is.
_TRANSPORTS: list[ModuleType] = [httpx]
with contextlib.suppress(ImportError):
    import httpx2

    _TRANSPORTS.append(httpx2)
STALLED: tuple[type[Exception], ...] = tuple(module.TimeoutException for module in _TRANSPORTS)
DROPPED: tuple[type[Exception], ...] = tuple(module.HTTPError for module in _TRANSPORTS)
# Local servers (Ollama, llama.cpp) ignore the key but the SDK refuses to start without one, and leaving it
# None would make the SDK pick up OPENAI_API_KEY from the environment and send it to whatever base_url is.
NO_KEY = "no-key"


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
    ) -> None:
        """Create the shared client; nothing is sent until the first ``stream``."""
        self._key = api_key or ""
        self._model = model
        self._temperature = temperature
        self._max_tokens = max_tokens
        self._timeout_s = timeout_s
        self._host = urlsplit(base_url).netloc or base_url
        # No SDK retries: a caller is waiting on the line, so a failure must surface at once and the
        # conversation decides what to say instead of sitting through backoff.
        self._client = AsyncOpenAI(api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout_s, max_retries=0)

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
        try:
            response = await self._client.chat.completions.create(**request)
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
        except openai.APIStatusError as exc:
            raise LlmError(f"{self._host} answered HTTP {exc.status_code}: {self._describe(exc)}") from None
        except openai.APITimeoutError:
            raise LlmError(f"{self._host} did not answer within {self._timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            raise LlmError(f"cannot reach {self._host}: {self._scrub(_root_cause(exc))}") from None
        except STALLED:
            # The SDK wraps failures of the request but not of reading the streamed body.
            raise LlmError(f"{self._host} stalled mid-stream for {self._timeout_s:g} s") from None
        except DROPPED as exc:
            raise LlmError(f"{self._host} dropped the stream: {self._scrub(str(exc) or type(exc).__name__)}") from None
        except openai.APIError as exc:
            # An ``error`` object inside an otherwise successful stream.
            raise LlmError(f"{self._host} failed mid-stream: {self._describe(exc)}") from None
        for number, call in enumerate(calls):
            if not call.name:
                raise LlmError(f"{self._host} streamed a tool call without a function name")
            # Some local servers leave the id out; the conversation still needs one to pair the tool result.
            call_id = call.id or f"call_{number}"
            yield ToolCall(id=call_id, name=call.name, arguments="".join(call.arguments) or "{}")

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._client.close()

    def _describe(self, exc: openai.APIError) -> str:
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        if not message and isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = body["error"].get("message")
        if not message:
            message = body if isinstance(body, str) and body else exc.message
        return self._scrub(str(message))

    def _scrub(self, text: str) -> str:
        # Providers echo (parts of) a rejected key in their messages; never pass the key on to logs.
        # Real keys are long; blanking a short placeholder key would mangle ordinary words instead.
        return text.replace(self._key, "***") if len(self._key) >= 8 else text


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


def _root_cause(exc: BaseException) -> str:
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause) or type(cause).__name__
