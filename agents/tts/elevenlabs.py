"""ElevenLabs streaming text-to-speech (``/v1/text-to-speech/{voice_id}/stream``) as raw 16 kHz PCM."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from agents.clients import SharedClients
from agents.tts.http_stream import StreamedPcmTextToSpeech

OUTPUT_FORMAT = "pcm_16000"


class ElevenLabsTextToSpeech(StreamedPcmTextToSpeech):
    """Speech from ElevenLabs, streamed as 16 kHz mono s16le PCM (``output_format=pcm_16000``)."""

    sample_rate = 16000

    provider = "ElevenLabs"

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.elevenlabs.io",
        model: str = "eleven_flash_v2_5",
        voice: str,
        speed: float = 1.0,
        timeout_s: float = 30.0,
        clients: SharedClients | None = None,
    ) -> None:
        """Borrow the process's client for this endpoint (or create one); nothing is sent yet."""
        super().__init__(
            api_key=api_key, base_url=base_url, headers={"xi-api-key": api_key}, timeout_s=timeout_s, clients=clients
        )
        self._model = model
        self._voice = voice
        # The assistant's speed is shared by every voice provider; ElevenLabs rejects anything outside 0.7-1.2.
        self._speed = min(1.2, max(0.7, speed))

    def _request(self, text: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        """Return the path, query and JSON body of the streaming endpoint for ``text``."""
        body = {"text": text, "model_id": self._model, "voice_settings": {"speed": self._speed}}
        path = f"/v1/text-to-speech/{quote(self._voice, safe='')}/stream"
        return path, {"output_format": OUTPUT_FORMAT}, body

    def _error_text(self, response: httpx.Response) -> str:
        try:
            detail: Any = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        if isinstance(detail, dict):
            # {"detail": {"status": "invalid_api_key", "message": "..."}}
            text = f"{detail.get('status', 'error')}: {detail.get('message', '')}".rstrip(": ")
        elif isinstance(detail, list):
            # FastAPI-style validation errors: {"detail": [{"loc": [...], "msg": "..."}]}
            text = "; ".join(
                f"{'.'.join(str(part) for part in item.get('loc', []))}: {item.get('msg', '')}"
                for item in detail
                if isinstance(item, dict)
            )
        elif isinstance(detail, str):
            text = detail
        else:
            text = response.text.strip()[:300] or response.reason_phrase
        return text
