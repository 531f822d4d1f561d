"""A local stand-in for Deepgram's live transcription websocket (``/v1/listen``), speaking its documented protocol.

It is not Deepgram: it recognises nothing. Each final result carries the next of its configured transcripts.
It checks the handshake the way the real service does (``Authorization: Token <key>`` else HTTP 401 with
Deepgram's error body; raw encodings need a sample rate else HTTP 400), sends interim ``Results`` as audio
arrives, answers ``Finalize`` with a ``from_finalize`` final, ``CloseStream`` with a last final, ``Metadata`` and
a normal close, drops an idle stream with close code 1011 (``NET-0001``), and records every connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar, WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from tests.peers.cloud.common import RecordedRequest, main

RAW_ENCODINGS = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
MODEL_INFO = {"name": "stand-in", "version": "2025-01-01.0", "arch": "nova-3"}


@dataclass
class DeepgramServer:
    """Settings and connection log of one local Deepgram stand-in; ``app()`` builds its Litestar app."""

    api_key: str = "dg-test-key"
    transcripts: list[str] = field(default_factory=lambda: ["I would like to book an appointment."])
    """The text of each successive final result of a connection (empty once they run out)."""
    interim_every_s: float = 0.25
    """Seconds of audio between interim results (0: none)."""
    final_every_s: float | None = None
    """Seconds of audio after which the stand-in finalizes on its own (endpointing, ``speech_final``); None: never."""
    idle_timeout_s: float = 10.0
    """Deepgram closes a stream that carries no audio or KeepAlive this long."""
    latency_s: float = 0.0
    """Delay before every result is sent (0: a zero-latency protocol server)."""
    handshake_delay_s: float = 0.0
    """Delay before the handshake is answered (a slow network path to Deepgram)."""
    requests: list[RecordedRequest] = field(default_factory=list)

    def app(self) -> Litestar:
        """Build the Litestar app serving this stand-in."""

        @websocket("/v1/listen")
        async def listen(socket: WebSocket[Any, Any, Any]) -> None:
            entry = RecordedRequest(
                method="WEBSOCKET",
                path=socket.url.path,
                query=dict(socket.query_params),
                headers={key.lower(): value for key, value in socket.headers.items()},
            )
            self.requests.append(entry)
            request_id = str(uuid.uuid4())
            if self.handshake_delay_s:
                await asyncio.sleep(self.handshake_delay_s)
            if entry.headers.get("authorization") != f"Token {self.api_key}":
                await _reject(socket, 401, "INVALID_AUTH", "Invalid credentials.", request_id)
                return
            encoding = entry.query.get("encoding")
            if encoding is not None and encoding not in RAW_ENCODINGS:
                await _reject(socket, 400, "Bad Request", f"Unknown encoding: {encoding}", request_id)
                return
            if encoding is not None and not entry.query.get("sample_rate", "").isdigit():
                await _reject(socket, 400, "Bad Request", "sample_rate is required with a raw encoding.", request_id)
                return
            await socket.accept(headers={"dg-request-id": request_id})
            await _Stream(self, socket, entry, request_id).run()

        return Litestar(route_handlers=[listen], debug=False)


class _Stream:
    """One accepted connection: counts audio, emits results, answers control messages."""

    def __init__(self, server: DeepgramServer, socket: WebSocket[Any, Any, Any], entry: RecordedRequest, rid: str):
        self.server = server
        self.socket = socket
        self.entry = entry
        self.request_id = rid
        query = entry.query
        width = RAW_ENCODINGS.get(query.get("encoding", "linear16"), 2)
        self.bytes_per_s = width * int(query.get("sample_rate", "16000")) * int(query.get("channels", "1"))
        self.received = 0
        self.finalized = 0
        self.last_interim = 0
        self.segment = 0
        self.interims = 0
        self.digest = hashlib.sha256()

    async def run(self) -> None:
        """Serve the connection until CloseStream, a client close or the idle timeout."""
        try:
            while True:
                try:
                    message = await asyncio.wait_for(self.socket.receive(), self.server.idle_timeout_s)
                except TimeoutError:
                    await self.socket.close(
                        code=1011,
                        reason="NET-0001 Deepgram did not receive audio data or a text message within the timeout",
                    )
                    return
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") is not None:
                    await self._audio(message["bytes"])
                elif message.get("text") is not None and await self._control(message["text"]):
                    return
        except WebSocketDisconnect:
            return

    async def _audio(self, data: bytes) -> None:
        self.entry.messages.append(data)
        self.digest.update(data)
        self.received += len(data)
        server = self.server
        if server.final_every_s and self.received - self.finalized >= server.final_every_s * self.bytes_per_s:
            await self._final(from_finalize=False, speech_final=True)
        elif server.interim_every_s and self.received - self.last_interim >= server.interim_every_s * self.bytes_per_s:
            self.last_interim = self.received
            self.interims += 1
            words = self._text().split()
            await self._send(self._results(" ".join(words[: self.interims]), is_final=False))

    async def _control(self, text: str) -> bool:
        try:
            control = json.loads(text)
        except ValueError:
            control = {"type": None, "raw": text}
        self.entry.messages.append(control)
        kind = control.get("type") if isinstance(control, dict) else None
        if kind == "Finalize":
            # Deepgram answers only when audio is waiting; a Finalize over nothing gets no from_finalize result.
            if self.received > self.finalized:
                await self._final(from_finalize=True, speech_final=False)
        elif kind == "CloseStream":
            if self.received > self.finalized:
                await self._final(from_finalize=False, speech_final=True)
            await self._send(self._metadata())
            await self.socket.close(code=1000)
            return True
        elif kind != "KeepAlive":
            await self.socket.close(code=1008, reason=f"DATA-0000 Unknown control message: {text[:80]}")
            return True
        return False

    def _text(self) -> str:
        transcripts = self.server.transcripts
        return transcripts[self.segment] if self.segment < len(transcripts) else ""

    async def _final(self, *, from_finalize: bool, speech_final: bool) -> None:
        text = self._text()
        self.segment += 1
        message = self._results(text, is_final=True, speech_final=speech_final, from_finalize=from_finalize)
        self.finalized = self.received
        self.last_interim = self.received
        self.interims = 0
        await self._send(message)

    def _results(
        self, text: str, *, is_final: bool, speech_final: bool = False, from_finalize: bool = False
    ) -> dict[str, Any]:
        start = self.finalized / self.bytes_per_s
        duration = (self.received - self.finalized) / self.bytes_per_s
        words = text.split()
        step = duration / len(words) if words else 0.0
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(duration, 6),
            "start": round(start, 6),
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {
                "alternatives": [
                    {
                        "transcript": text,
                        "confidence": 0.99 if words else 0.0,
                        "words": [
                            {
                                "word": word.strip(".,?!").lower(),
                                "start": round(start + number * step, 3),
                                "end": round(start + (number + 1) * step, 3),
                                "confidence": 0.99,
                                "punctuated_word": word,
                            }
                            for number, word in enumerate(words)
                        ],
                    }
                ]
            },
            "metadata": {
                "request_id": self.request_id,
                "model_info": MODEL_INFO,
                "model_uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, "stand-in")),
            },
        }

    def _metadata(self) -> dict[str, Any]:
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.request_id,
            "sha256": self.digest.hexdigest(),
            "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "duration": self.received / self.bytes_per_s,
            "channels": int(self.entry.query.get("channels", "1")),
            "models": [str(uuid.uuid5(uuid.NAMESPACE_DNS, "stand-in"))],
            "model_info": {str(uuid.uuid5(uuid.NAMESPACE_DNS, "stand-in")): MODEL_INFO},
        }

    async def _send(self, message: dict[str, Any]) -> None:
        if self.server.latency_s:
            await asyncio.sleep(self.server.latency_s)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self.socket.send_json(message)


async def _reject(socket: WebSocket[Any, Any, Any], status: int, code: str, message: str, request_id: str) -> None:
    """Refuse the handshake with an HTTP status and Deepgram's JSON error body (the ASGI denial extension)."""
    body = json.dumps({"err_code": code, "err_msg": message, "request_id": request_id}).encode()
    if "websocket.http.response" in socket.scope.get("extensions", {}):
        await socket.send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"dg-error", message.encode()),
                    (b"dg-request-id", request_id.encode()),
                ],
            }
        )
        await socket.send({"type": "websocket.http.response.body", "body": body, "more_body": False})
    else:
        # Servers without the extension can only refuse with 403.
        await socket.close(code=1008, reason=code)


def _build(args: argparse.Namespace) -> DeepgramServer:
    server = DeepgramServer(latency_s=args.latency)
    if args.key is not None:
        server.api_key = args.key
    if args.text is not None:
        server.transcripts = [args.text]
    return server


if __name__ == "__main__":
    main("deepgram_server", _build)
