"""A local stand-in for Cartesia's Sonic text-to-speech over ``POST /tts/bytes`` (raw PCM output).

It is not Cartesia: it streams the PCM it is configured with (a tone by default), checks requests the way the
real service does (API key, ``Cartesia-Version``, required fields, voice mode, output format) and records every
request it receives. Errors come as plain text for API versions before 2026-03-01 and as Cartesia's JSON error
object from that version on, as Cartesia documents.
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.response import Stream

from tests.peers.cloud.common import RecordedRequest, chunked, main, paced, record, tone

JSON_ERRORS_SINCE = "2026-03-01"
SAMPLE_RATES = {8000, 16000, 22050, 24000, 44100, 48000}


@dataclass
class CartesiaServer:
    """Settings and request log of one local Cartesia stand-in; ``app()`` builds its Litestar app."""

    api_key: str = "sk_car_test"
    audio: bytes | None = None
    """The PCM streamed back; by default half a second of 440 Hz at the requested rate."""
    audio_chunk_bytes: int = 999
    """Odd on purpose, so clients must carry a split sample across chunks."""
    latency_s: float = 0.0
    """Delay before the first byte of every answer (0: a zero-latency protocol server)."""
    chunk_interval_s: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)

    def audio_for(self, sample_rate: int) -> bytes:
        """Return the PCM answered for ``sample_rate``."""
        return self.audio if self.audio is not None else tone(sample_rate, 0.5)

    def app(self) -> Litestar:
        """Build the Litestar app serving this stand-in."""

        @post("/tts/bytes", status_code=200)
        async def tts_bytes(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
            entry = await record(request, self.requests)
            version = entry.headers.get("cartesia-version", "")
            if not version:
                return _error(version, 400, "missing_version", "Bad Request", "Cartesia-Version header is required.")
            bearer = entry.headers.get("authorization", "")
            key = entry.headers.get("x-api-key") or (bearer[len("Bearer ") :] if bearer.startswith("Bearer ") else "")
            if key != self.api_key:
                return _error(version, 401, "invalid_api_key", "Unauthorized", "Invalid API key.")
            body = entry.json if isinstance(entry.json, dict) else {}
            for name in ("model_id", "transcript", "voice", "output_format"):
                if name not in body:
                    return _error(version, 400, "invalid_request", "Bad Request", f"Missing required field: {name}")
            voice = body["voice"] if isinstance(body["voice"], dict) else {}
            if voice.get("mode") != "id" or not voice.get("id"):
                return _error(version, 400, "invalid_request", "Bad Request", "voice must be {mode: id, id: <voice>}")
            output = body["output_format"] if isinstance(body["output_format"], dict) else {}
            if output.get("container") != "raw" or output.get("encoding") != "pcm_s16le":
                return _error(
                    version,
                    400,
                    "invalid_request",
                    "Bad Request",
                    "This stand-in only streams container raw with encoding pcm_s16le.",
                )
            if output.get("sample_rate") not in SAMPLE_RATES:
                return _error(
                    version, 400, "invalid_request", "Bad Request", f"Invalid sample_rate: {output.get('sample_rate')}"
                )
            pieces = chunked(self.audio_for(int(output["sample_rate"])), self.audio_chunk_bytes)
            return Stream(paced(pieces, self.latency_s, self.chunk_interval_s), media_type="application/octet-stream")

        return Litestar(route_handlers=[tts_bytes], debug=False)


def _error(version: str, status: int, code: str, title: str, message: str) -> Response[Any]:
    """Answer an error in the shape the requested API version gets."""
    if version >= JSON_ERRORS_SINCE:
        return Response(
            {"error_code": code, "title": title, "message": message, "request_id": str(uuid.uuid4())},
            status_code=status,
        )
    return Response(f"{title}: {message}", media_type="text/plain", status_code=status)


def _build(args: argparse.Namespace) -> CartesiaServer:
    server = CartesiaServer(latency_s=args.latency)
    if args.key is not None:
        server.api_key = args.key
    return server


if __name__ == "__main__":
    main("cartesia_server", _build)
