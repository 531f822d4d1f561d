"""A local stand-in for Anthropic's Messages API (``POST /v1/messages``), speaking its documented SSE stream.

It is not Anthropic: it streams the reply and tool calls it is configured with, validates requests the way the
real service does (``x-api-key``, ``anthropic-version``, required fields, user-first alternation, tool_result
pairing) and records every request it receives.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.response import Stream

from tests.peers.cloud.common import RecordedRequest, main, paced, record, sse


@dataclass(frozen=True)
class ScriptedToolUse:
    """A tool_use block the stand-in streams: tool name and its JSON input (sent as input_json_delta fragments)."""

    name: str
    input_json: str
    id: str = field(default_factory=lambda: f"toolu_{uuid.uuid4().hex[:24]}")


@dataclass
class AnthropicServer:
    """Settings and request log of one local Anthropic stand-in; ``app()`` builds its Litestar app."""

    api_key: str = "sk-ant-test"
    reply: str = "Hello! How can I help you today?"
    reply_chunks: list[str] | None = None
    tool_uses: list[ScriptedToolUse] = field(default_factory=list)
    json_fragment_chars: int = 6
    fail_mid_stream: dict[str, str] | None = None
    """An ``error`` object (``{"type": "overloaded_error", "message": ...}``) sent after the first text delta."""
    latency_s: float = 0.0
    """Delay before the first byte of every answer (0: a zero-latency protocol server)."""
    chunk_interval_s: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)

    def deltas(self) -> list[str]:
        """Return the text deltas the stream carries, in order."""
        if self.reply_chunks is not None:
            return list(self.reply_chunks)
        words = self.reply.split(" ")
        return [word if number == 0 else f" {word}" for number, word in enumerate(words) if word or number == 0]

    def app(self) -> Litestar:
        """Build the Litestar app serving this stand-in."""

        @post("/v1/messages", status_code=200)
        async def messages(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
            entry = await record(request, self.requests)
            if entry.headers.get("x-api-key") != self.api_key:
                return _error(401, "authentication_error", "invalid x-api-key")
            if not entry.headers.get("anthropic-version"):
                return _error(400, "invalid_request_error", "anthropic-version: header is required")
            body = entry.json
            if not isinstance(body, dict):
                return _error(400, "invalid_request_error", "There was an issue with the JSON body of your request.")
            problem = _validate(body)
            if problem is not None:
                return _error(400, "invalid_request_error", problem)
            model = str(body["model"])
            if body.get("stream"):
                return Stream(
                    paced(self._events(model), self.latency_s, self.chunk_interval_s), media_type="text/event-stream"
                )
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            return Response(self._message(model), status_code=200)

        return Litestar(route_handlers=[messages], debug=False)

    def _events(self, model: str) -> list[bytes]:
        stop_reason = "tool_use" if self.tool_uses else "end_turn"
        events = [
            sse(
                {"type": "message_start", "message": {**self._message(model, content=[]), "stop_reason": None}},
                "message_start",
            ),
        ]
        index = 0
        deltas = [piece for piece in self.deltas() if piece]
        if deltas:
            events.append(
                sse(
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                    "content_block_start",
                )
            )
            events.append(sse({"type": "ping"}, "ping"))
            for number, piece in enumerate(deltas):
                events.append(
                    sse(
                        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                        "content_block_delta",
                    )
                )
                if number == 0 and self.fail_mid_stream is not None:
                    events.append(sse({"type": "error", "error": self.fail_mid_stream}, "error"))
                    return events
            events.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
            index = 1
        for use in self.tool_uses:
            block = {"type": "tool_use", "id": use.id, "name": use.name, "input": {}}
            events.append(
                sse({"type": "content_block_start", "index": index, "content_block": block}, "content_block_start")
            )
            for start in range(0, len(use.input_json), self.json_fragment_chars):
                fragment = use.input_json[start : start + self.json_fragment_chars]
                events.append(
                    sse(
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "input_json_delta", "partial_json": fragment},
                        },
                        "content_block_delta",
                    )
                )
            events.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
            index += 1
        events.append(
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": 12},
                },
                "message_delta",
            )
        )
        events.append(sse({"type": "message_stop"}, "message_stop"))
        return events

    def _message(self, model: str, content: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        if content is None:
            content = [{"type": "text", "text": self.reply}] if self.reply else []
            content += [
                {"type": "tool_use", "id": use.id, "name": use.name, "input": json.loads(use.input_json or "{}")}
                for use in self.tool_uses
            ]
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": "tool_use" if self.tool_uses else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 25, "output_tokens": 1},
        }


def _validate(body: dict[str, Any]) -> str | None:
    """Return the message Anthropic would reject ``body`` with, or None when it is acceptable."""
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: Input should be a valid integer greater than or equal to 1"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string or list"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    if messages[0].get("role") != "user":
        return 'messages: first message must use the "user" role'
    previous_tool_uses: set[str] = set()
    for number, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            return (
                f'messages.{number}.role: Unexpected role "{role}". The Messages API accepts a top-level `system` '
                'parameter, not "system" as an input message role.'
            )
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list) or not blocks:
            return f"messages.{number}: all messages must have non-empty content"
        tool_uses: set[str] = set()
        for block in blocks:
            kind = block.get("type")
            if kind == "text" and not str(block.get("text", "")).strip():
                return f"messages.{number}: text content blocks must contain non-whitespace text"
            if kind == "tool_use":
                if role != "assistant":
                    return f"messages.{number}: tool_use blocks are only allowed in assistant messages"
                if not block.get("id") or not block.get("name") or not isinstance(block.get("input"), dict):
                    return f"messages.{number}: tool_use blocks need id, name and an object input"
                tool_uses.add(str(block["id"]))
            if kind == "tool_result":
                if role != "user":
                    return f"messages.{number}: tool_result blocks are only allowed in user messages"
                if block.get("tool_use_id") not in previous_tool_uses:
                    return (
                        f"messages.{number}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                        f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding `tool_use` "
                        "block in the previous message."
                    )
        previous_tool_uses = tool_uses
    for number, tool in enumerate(body.get("tools") or []):
        if not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
            return f"tools.{number}: name and input_schema are required"
    return None


def _error(status: int, kind: str, message: str) -> Response[Any]:
    """Answer in Anthropic's error shape: ``{"type": "error", "error": {"type", "message"}}``."""
    return Response(
        {"type": "error", "error": {"type": kind, "message": message}, "request_id": f"req_{uuid.uuid4().hex[:24]}"},
        status_code=status,
    )


def _build(args: argparse.Namespace) -> AnthropicServer:
    server = AnthropicServer(latency_s=args.latency)
    if args.key is not None:
        server.api_key = args.key
    if args.text is not None:
        server.reply = args.text
    return server


if __name__ == "__main__":
    main("anthropic_server", _build)
