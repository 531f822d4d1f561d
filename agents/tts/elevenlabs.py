"""ElevenLabs streaming text-to-speech (``/v1/text-to-speech/{voice_id}/stream``) as raw 16 kHz PCM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from agents.tts.base import TextToSpeech, TtsError

OUTPUT_FORMAT = "pcm_16000"


class ElevenLabsTextToSpeech(TextToSpeech):
    """Speech from ElevenLabs, streamed as 16 kHz mono s16le PCM (``output_format=pcm_16000``)."""

    sample_rate = 16000

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.elevenlabs.io",
        model: str = "eleven_flash_v2_5",
        voice: str,
        speed: float = 1.0,
        timeout_s: float = 30.0,
    ) -> None:
        """Create the shared HTTP client; nothing is sent until the first synthesis."""
        root = base_url.rstrip("/")
        self._key = api_key
        self._model = model
        self._voice = voice
        # The assistant's speed is shared by every voice provider; ElevenLabs rejects anything outside 0.7-1.2.
        self._speed = min(1.2, max(0.7, speed))
        self._timeout_s = timeout_s
        self._host = urlsplit(root).netloc or root
        self._client = httpx.AsyncClient(base_url=root, timeout=timeout_s, headers={"xi-api-key": api_key})

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream 16 kHz mono s16 PCM for ``text`` as ElevenLabs generates it."""
        if not text.strip():
            return
        body = {"text": text, "model_id": self._model, "voice_settings": {"speed": self._speed}}
        path = f"/v1/text-to-speech/{quote(self._voice, safe='')}/stream"
        carry = b""
        sent = 0
        try:
            async with self._client.stream(
                "POST", path, params={"output_format": OUTPUT_FORMAT}, json=body
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise TtsError(
                        f"ElevenLabs ({self._host}) answered HTTP {response.status_code}: {self._error(response)}"
                    )
                async for chunk in response.aiter_bytes():
                    data = carry + chunk
                    # A network chunk can end inside a sample; the odd byte waits for its partner.
                    carry = data[len(data) & ~1 :]
                    even = data[: len(data) & ~1]
                    if even:
                        sent += len(even)
                        yield even
        except httpx.ConnectError as exc:
            raise TtsError(
                f"cannot reach ElevenLabs ({self._host}): {self._scrub(str(exc) or type(exc).__name__)}"
            ) from None
        except httpx.TimeoutException:
            raise TtsError(f"ElevenLabs ({self._host}) did not answer within {self._timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise TtsError(
                f"connection to ElevenLabs ({self._host}) failed: {self._scrub(str(exc) or type(exc).__name__)}"
            ) from None
        if not sent:
            raise TtsError(f"ElevenLabs ({self._host}) returned no audio")

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._client.aclose()

    def _error(self, response: httpx.Response) -> str:
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
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        # Real keys are long; blanking a short placeholder key would mangle ordinary words instead.
        return text.replace(self._key, "***") if len(self._key) >= 8 else text
