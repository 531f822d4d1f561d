"""Anthropic's Messages API over plain HTTP: OpenAI-format history in, streamed text and tool calls out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from agents.clients import SharedClients, borrow_http, transport_failure
from agents.llm.base import LanguageModel, LlmError, LlmEvent, Message, TextDelta, ToolCall, ToolDefinition
from agents.redaction import scrub_key

API_VERSION = "2023-06-01"
# Anthropic rejects a history that opens with the assistant (a greeting spoken before the caller said
# anything) and empty text blocks, so the conversation start is stood in for by this user turn.
CALL_STARTED = "(The call has started.)"


@dataclass
class _PendingToolUse:
    id: str
    name: str
    json_parts: list[str] = field(default_factory=list)


class AnthropicLanguageModel(LanguageModel):
    """A Claude model behind ``POST /v1/messages`` with ``stream: true``."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.anthropic.com",
        model: str,
        temperature: float = 0.6,
        max_tokens: int = 200,
        timeout_s: float = 30.0,
        clients: SharedClients | None = None,
    ) -> None:
        """Borrow the process's HTTP client for this endpoint (or create one); nothing is sent yet."""
        root = base_url.rstrip("/")
        # People paste SDK-style URLs ending in /v1; the path below already carries it.
        if root.endswith("/v1"):
            root = root[: -len("/v1")]
        self._key = api_key
        self._model = model
        # Temperatures are shared with OpenAI-style providers (0-2); Anthropic rejects anything above 1.
        self._temperature = min(1.0, max(0.0, temperature))
        self._max_tokens = max_tokens
        self._timeout_s = timeout_s
        self._host = urlsplit(root).netloc or root
        headers = {"x-api-key": api_key, "anthropic-version": API_VERSION, "content-type": "application/json"}
        self._client, self._owned = borrow_http(clients, root, headers, timeout_s)

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolDefinition] = ()
    ) -> AsyncIterator[LlmEvent]:
        """Stream the reply's text deltas, then every tool call the model assembled."""
        system, turns = to_anthropic_messages(messages)
        body: dict[str, Any] = {
            "model": self._model,
            "max_tokens": self._max_tokens,
            "temperature": self._temperature,
            "messages": turns,
            "stream": True,
        }
        if system:
            body["system"] = system
        if tools:
            body["tools"] = [
                {"name": tool.name, "description": tool.description, "input_schema": tool.parameters} for tool in tools
            ]
        tool_uses: dict[int, _PendingToolUse] = {}
        stopped = False
        try:
            async with self._client.stream("POST", "/v1/messages", json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise LlmError(
                        f"Anthropic ({self._host}) answered HTTP {response.status_code}: {self._error(response)}"
                    )
                async for event in _sse_events(response):
                    kind = event.get("type")
                    if kind == "content_block_start":
                        block = event.get("content_block") or {}
                        if block.get("type") == "tool_use":
                            tool_uses[int(event["index"])] = _PendingToolUse(str(block["id"]), str(block["name"]))
                        elif block.get("type") == "text" and block.get("text"):
                            yield TextDelta(str(block["text"]))
                    elif kind == "content_block_delta":
                        delta = event.get("delta") or {}
                        if delta.get("type") == "text_delta" and delta.get("text"):
                            yield TextDelta(str(delta["text"]))
                        elif delta.get("type") == "input_json_delta":
                            pending = tool_uses.get(int(event["index"]))
                            if pending is None:
                                raise LlmError("Anthropic streamed tool input for a block it never started")
                            pending.json_parts.append(str(delta.get("partial_json", "")))
                    elif kind == "message_stop":
                        stopped = True
                        break
                    elif kind == "error":
                        error = event.get("error") or {}
                        raise LlmError(
                            f"Anthropic failed mid-stream: {error.get('type', 'error')}: "
                            f"{self._scrub(str(error.get('message', 'no message')))}"
                        )
                    # message_start, content_block_stop, message_delta and ping carry nothing to relay.
        except httpx.HTTPError as exc:
            who = f"Anthropic ({self._host})"
            raise LlmError(transport_failure(exc, who, self._timeout_s, self._scrub)) from None
        except (KeyError, ValueError, TypeError) as exc:
            raise LlmError(f"Anthropic sent a malformed stream event: {exc!r}") from None
        if not stopped:
            raise LlmError("Anthropic's stream ended before message_stop")
        for index in sorted(tool_uses):
            pending = tool_uses[index]
            # A tool without parameters streams no input at all; its arguments are still a JSON object.
            yield ToolCall(id=pending.id, name=pending.name, arguments="".join(pending.json_parts) or "{}")

    async def aclose(self) -> None:
        """Close the HTTP client unless it is the process's shared one."""
        if self._owned:
            await self._client.aclose()

    def _error(self, response: httpx.Response) -> str:
        try:
            error = response.json().get("error") or {}
            text = f"{error.get('type', 'error')}: {error.get('message', '')}".rstrip(": ")
        except (ValueError, AttributeError):
            text = response.text.strip()[:300] or response.reason_phrase
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        return scrub_key(text, self._key)


def to_anthropic_messages(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """Convert an OpenAI-format history into Anthropic's top-level system text and alternating turns."""
    system_parts: list[str] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            text = _text_of(message.get("content"))
            if text:
                system_parts.append(text)
            continue
        if role == "tool":
            blocks: list[dict[str, Any]] = [
                {
                    "type": "tool_result",
                    "tool_use_id": str(message.get("tool_call_id", "")),
                    "content": _text_of(message.get("content")) or "(no output)",
                }
            ]
            _append(turns, "user", blocks)
            continue
        blocks = []
        text = _text_of(message.get("content"))
        if text.strip():
            blocks.append({"type": "text", "text": text})
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": str(call.get("id", "")),
                        "name": str(function.get("name", "")),
                        "input": _json_object(function.get("arguments")),
                    }
                )
            _append(turns, "assistant", blocks)
        else:
            _append(turns, "user", blocks)
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": [{"type": "text", "text": CALL_STARTED}]})
    return "\n\n".join(system_parts), turns


def _append(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if not blocks:
        return
    # Consecutive turns of one role (several tool results, a nudge after a tool result) become one turn.
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


def _json_object(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        value = json.loads(arguments or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


async def _sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Yield the JSON payload of every server-sent event in ``response``."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield json.loads("\n".join(data))
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        # ``event:`` names repeat the payload's ``type``; comments (``:``) and ids are ignored.
    if data:
        yield json.loads("\n".join(data))
