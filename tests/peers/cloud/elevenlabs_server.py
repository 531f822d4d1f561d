"""A local stand-in for ElevenLabs' streaming text-to-speech (``POST /v1/text-to-speech/{voice_id}/stream``).

It is not ElevenLabs: it streams the PCM it is configured with (a tone by default), checks requests the way the
real service does (``xi-api-key``, ``output_format``, required ``text``, known voice, speed range) and records
every request it receives.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post
from litestar.params import FromPath
from litestar.response import Stream

from tests.peers.cloud.common import RecordedRequest, chunked, main, paced, record, tone

PCM_FORMATS = {"pcm_8000": 8000, "pcm_16000": 16000, "pcm_22050": 22050, "pcm_24000": 24000, "pcm_44100": 44100}


@dataclass
class ElevenLabsServer:
    """Settings and request log of one local ElevenLabs stand-in; ``app()`` builds its Litestar app."""

    api_key: str = "xi-test-key"
    voices: frozenset[str] | None = None
    """Voice ids that exist; None accepts any id."""
    audio: bytes | None = None
    """The PCM streamed back; by default half a second of 440 Hz at the requested rate."""
    audio_chunk_bytes: int = 1023
    """Odd on purpose, so clients must carry a split sample across chunks."""
    latency_s: float = 0.0
    """Delay before the first byte of every answer (0: a zero-latency protocol server)."""
    chunk_interval_s: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)

    def audio_for(self, sample_rate: int) -> bytes:
        """Return the PCM answered for an ``output_format`` of ``sample_rate``."""
        return self.audio if self.audio is not None else tone(sample_rate, 0.5)

    def app(self) -> Litestar:
        """Build the Litestar app serving this stand-in."""

        @post("/v1/text-to-speech/{voice_id:str}/stream", status_code=200)
        async def stream(request: Request[Any, Any, Any], voice_id: FromPath[str]) -> Response[Any] | Stream:
            entry = await record(request, self.requests)
            key = entry.headers.get("xi-api-key")
            if not key:
                return _detail(401, "needs_authorization", "Neither authorization header nor xi-api-key received.")
            if key != self.api_key:
                return _detail(401, "invalid_api_key", "Invalid API key")
            output_format = entry.query.get("output_format", "mp3_44100_128")
            if output_format not in PCM_FORMATS:
                return _detail(400, "invalid_output_format", f"This stand-in only streams PCM, not {output_format}.")
            body = entry.json if isinstance(entry.json, dict) else None
            if body is None or "text" not in body:
                return Response(
                    {"detail": [{"type": "missing", "loc": ["body", "text"], "msg": "Field required", "input": body}]},
                    status_code=422,
                )
            if self.voices is not None and voice_id not in self.voices:
                return _detail(404, "voice_not_found", f"A voice with the voice_id {voice_id} was not found.")
            speed = (body.get("voice_settings") or {}).get("speed", 1.0)
            if not isinstance(speed, int | float) or not 0.7 <= speed <= 1.2:
                return Response(
                    {
                        "detail": [
                            {
                                "type": "less_than_equal",
                                "loc": ["body", "voice_settings", "speed"],
                                "msg": "Input should be between 0.7 and 1.2",
                                "input": speed,
                            }
                        ]
                    },
                    status_code=422,
                )
            pieces = chunked(self.audio_for(PCM_FORMATS[output_format]), self.audio_chunk_bytes)
            return Stream(paced(pieces, self.latency_s, self.chunk_interval_s), media_type="audio/pcm")

        return Litestar(route_handlers=[stream], debug=False)


def _detail(status: int, code: str, message: str) -> Response[Any]:
    """Answer in ElevenLabs' error shape: ``{"detail": {"status", "message"}}``."""
    return Response({"detail": {"status": code, "message": message}}, status_code=status)


def _build(args: argparse.Namespace) -> ElevenLabsServer:
    server = ElevenLabsServer(latency_s=args.latency)
    if args.key is not None:
        server.api_key = args.key
    return server


if __name__ == "__main__":
    main("elevenlabs_server", _build)
