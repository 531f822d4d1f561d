"""Cartesia Sonic text-to-speech over ``POST /tts/bytes``, streamed as raw 16 kHz PCM."""

from __future__ import annotations

from typing import Any

import httpx

from agents.clients import SharedClients
from agents.tts.http_stream import StreamedPcmTextToSpeech

API_VERSION = "2024-11-13"
SAMPLE_RATE = 16000


class CartesiaTextToSpeech(StreamedPcmTextToSpeech):
    """Speech from Cartesia, streamed as 16 kHz mono s16le PCM (``container: raw``)."""

    sample_rate = SAMPLE_RATE

    provider = "Cartesia"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.cartesia.ai",
        model: str = "sonic-2",
        voice: str,
        speed: float = 1.0,
        timeout_s: float = 30.0,
        clients: SharedClients | None = None,
    ) -> None:
        """Borrow the process's client for this endpoint (or create one); nothing is sent yet."""
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            headers={"X-API-Key": api_key, "Cartesia-Version": API_VERSION},
            timeout_s=timeout_s,
            clients=clients,
        )
        self._model = model
        self._voice = voice
        self._speed = speed

    def _request_body(self, text: str) -> dict[str, Any]:
        """Return the JSON body of ``/tts/bytes`` for ``text``."""
        voice: dict[str, Any] = {"mode": "id", "id": self._voice}
        body: dict[str, Any] = {
            "model_id": self._model,
            "transcript": text,
            "voice": voice,
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": SAMPLE_RATE},
            "language": "en",
        }
        if self._speed != 1.0:
            # Cartesia moved the speed control between model families: sonic-3 takes a multiplier in
            # generation_config, older models an offset in [-1, 1] around 0 (normal) among the voice controls.
            if self._model.startswith("sonic-3"):
                body["generation_config"] = {"speed": min(1.5, max(0.6, self._speed))}
            else:
                voice["__experimental_controls"] = {"speed": round(min(1.0, max(-1.0, self._speed - 1.0)), 2)}
        return body

    def _request(self, text: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """Return the path, query and JSON body of ``/tts/bytes`` for ``text``."""
        return "/tts/bytes", {}, self._request_body(text)

    def _error_text(self, response: httpx.Response) -> str:
        # API versions before 2026-03-01 answer errors in plain text ("Title: message"), later ones in JSON.
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            parts = [str(payload[key]) for key in ("title", "message", "error") if payload.get(key)]
            text = ": ".join(parts) or response.text.strip()[:300]
        else:
            text = response.text.strip()[:300] or response.reason_phrase
        return text
