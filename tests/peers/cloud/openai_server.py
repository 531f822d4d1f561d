"""A local stand-in for the OpenAI API (and every OpenAI-compatible server): streamed chat completions with
tool calls, ``/audio/transcriptions`` and ``/audio/speech``, speaking the documented wire format.

It is not OpenAI: it answers with the reply, tool calls, transcript and audio it is configured with, checks
requests the way the real service does (Bearer key, required fields) and records every request it receives.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import time
import uuid
import wave
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.datastructures import UploadFile
from litestar.response import Stream

from tests.peers.cloud.common import RecordedRequest, chunked, main, paced, record, sse, tone

PCM_RATE = 24000


@dataclass(frozen=True)
class ScriptedToolCall:
    """A tool call the stand-in streams: its function name and JSON arguments (sent in small fragments)."""

    name: str
    arguments: str
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:24]}")


@dataclass
class OpenAIServer:
    """Settings and request log of one local OpenAI stand-in; ``app()`` builds its Litestar app.

    Every route answers both at the root and under ``/v1``, so the base URL may be given either way.
    """

    api_key: str | None = "sk-test-openai"
    """The only key accepted (``Authorization: Bearer``); None accepts any request, like a local server."""
    reply: str = "Hello! How can I help you today?"
    reply_chunks: list[str] | None = None
    """The exact content deltas to stream; by default the reply is cut into words (spaces kept)."""
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    argument_fragment_chars: int = 7
    transcript: str = "I would like to book an appointment."
    audio: bytes | None = None
    """The PCM ``/audio/speech`` answers with; by default half a second of 440 Hz at 24 kHz."""
    audio_chunk_bytes: int = 4801
    """Odd on purpose, so clients must carry a split sample across chunks."""
    latency_s: float = 0.0
    """Delay before the first byte of every answer (0: a zero-latency protocol server)."""
    chunk_interval_s: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)

    def speech_audio(self) -> bytes:
        """Return the PCM that ``/audio/speech`` streams."""
        return self.audio if self.audio is not None else tone(PCM_RATE, 0.5)

    def deltas(self) -> list[str]:
        """Return the content deltas the chat stream carries, in order."""
        if self.reply_chunks is not None:
            return list(self.reply_chunks)
        words = self.reply.split(" ")
        return [word if number == 0 else f" {word}" for number, word in enumerate(words) if word or number == 0]

    def app(self) -> Litestar:
        """Build the Litestar app serving this stand-in."""

        @post(["/chat/completions", "/v1/chat/completions"], status_code=200)
        async def chat(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
            entry = await record(request, self.requests)
            denied = self._authorize(entry)
            if denied is not None:
                return denied
            body = entry.json
            if not isinstance(body, dict):
                return _error(400, "We could not parse the JSON body of your request.", None)
            if not body.get("model"):
                return _error(400, "you must provide a model parameter", None)
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                return _error(400, "[] is too short - 'messages'", "messages")
            for number, message in enumerate(messages):
                if not isinstance(message, dict) or message.get("role") not in _ROLES:
                    return _error(400, f"Invalid value for 'messages[{number}].role'.", f"messages[{number}].role")
            for number, tool in enumerate(body.get("tools") or []):
                if (
                    not isinstance(tool, dict)
                    or tool.get("type") != "function"
                    or not tool.get("function", {}).get("name")
                ):
                    return _error(400, f"Missing required parameter: 'tools[{number}].function.name'.", "tools")
            if body.get("stream"):
                usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return Stream(
                    paced(self._chat_events(str(body["model"]), usage), self.latency_s, self.chunk_interval_s),
                    media_type="text/event-stream",
                )
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            return Response(self._completion(str(body["model"])), status_code=200)

        @post(["/audio/transcriptions", "/v1/audio/transcriptions"], status_code=200)
        async def transcriptions(request: Request[Any, Any, Any]) -> Response[Any]:
            entry = await record(request, self.requests)
            denied = self._authorize(entry)
            if denied is not None:
                return denied
            form = await request.form()
            upload = form.get("file")
            fields = {key: value for key, value in form.items() if key != "file"}
            entry.form = dict(fields)
            if isinstance(upload, UploadFile):
                data = await upload.read()
                entry.form["file"] = {"filename": upload.filename, "content_type": upload.content_type, "data": data}
                entry.form["wav"] = _wav_facts(data)
            else:
                return _error(400, "Missing required parameter: 'file'.", "file")
            if not fields.get("model"):
                return _error(400, "Missing required parameter: 'model'.", "model")
            if entry.form["wav"] is None:
                return _error(400, "Invalid file format. Supported formats: ['wav', 'mp3', ...]", "file")
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            response_format = fields.get("response_format", "json")
            if response_format == "text":
                return Response(self.transcript, media_type="text/plain", status_code=200)
            if response_format == "verbose_json":
                duration = entry.form["wav"]["seconds"]
                return Response(
                    {
                        "task": "transcribe",
                        "language": fields.get("language", "english"),
                        "duration": duration,
                        "text": self.transcript,
                        "segments": [],
                    },
                    status_code=200,
                )
            return Response({"text": self.transcript}, status_code=200)

        @post(["/audio/speech", "/v1/audio/speech"], status_code=200)
        async def speech(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
            entry = await record(request, self.requests)
            denied = self._authorize(entry)
            if denied is not None:
                return denied
            body = entry.json if isinstance(entry.json, dict) else {}
            for name in ("model", "input", "voice"):
                if not body.get(name):
                    return _error(400, f"Missing required parameter: '{name}'.", name)
            speed = body.get("speed", 1.0)
            if not isinstance(speed, int | float) or not 0.25 <= speed <= 4.0:
                return _error(400, f"Invalid 'speed': {speed}. Expected a value between 0.25 and 4.0.", "speed")
            response_format = body.get("response_format", "mp3")
            pcm = self.speech_audio()
            if response_format == "pcm":
                pieces, media_type = chunked(pcm, self.audio_chunk_bytes), "audio/pcm"
            elif response_format == "wav":
                pieces, media_type = chunked(_wav(pcm, PCM_RATE), self.audio_chunk_bytes), "audio/wav"
            else:
                return _error(
                    400, f"This stand-in only produces pcm and wav, not {response_format!r}.", "response_format"
                )
            return Stream(paced(pieces, self.latency_s, self.chunk_interval_s), media_type=media_type)

        return Litestar(route_handlers=[chat, transcriptions, speech], debug=False)

    def _authorize(self, entry: RecordedRequest) -> Response[Any] | None:
        if self.api_key is None:
            return None
        header = entry.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not header[len("Bearer ") :]:
            return _error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header using "
                "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                None,
            )
        given = header[len("Bearer ") :]
        if given != self.api_key:
            # OpenAI echoes a masked form of the rejected key.
            masked = f"{given[:3]}{'*' * max(0, len(given) - 7)}{given[-4:]}" if len(given) > 8 else "*" * len(given)
            return _error(
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                None,
                code="invalid_api_key",
            )
        return None

    def _chat_events(self, model: str, usage: bool) -> list[bytes]:
        ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return sse(
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": None,
                    "choices": [choice],
                }
            )

        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        events += [chunk({"content": piece}) for piece in self.deltas() if piece]
        for index, call in enumerate(self.tool_calls):
            head = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            events.append(chunk({"tool_calls": [head]}))
            for start in range(0, len(call.arguments), self.argument_fragment_chars):
                fragment = call.arguments[start : start + self.argument_fragment_chars]
                events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}))
        events.append(chunk({}, "tool_calls" if self.tool_calls else "stop"))
        if usage:
            events.append(
                sse(
                    {
                        "id": ident,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                )
            )
        events.append(sse("[DONE]"))
        return events

    def _completion(self, model: str) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.reply or None, "refusal": None}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
                for call in self.tool_calls
            ]
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if self.tool_calls else "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }


_ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def _error(status: int, message: str, param: str | None, *, code: str | None = None) -> Response[Any]:
    """Answer in OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""
    return Response(
        {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}},
        status_code=status,
    )


def _wav_facts(data: bytes) -> dict[str, Any] | None:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            frames = wav.readframes(wav.getnframes())
            return {
                "channels": wav.getnchannels(),
                "sample_width": wav.getsampwidth(),
                "sample_rate": wav.getframerate(),
                "seconds": wav.getnframes() / wav.getframerate(),
                "pcm": frames,
            }
    except (wave.Error, EOFError):
        return None


def _wav(pcm: bytes, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def _build(args: argparse.Namespace) -> OpenAIServer:
    server = OpenAIServer(latency_s=args.latency)
    if args.key is not None:
        server.api_key = args.key or None
    if args.text is not None:
        server.reply = server.transcript = args.text
    return server


if __name__ == "__main__":
    main("openai_server", _build)
