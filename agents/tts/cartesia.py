"""Cartesia Sonic text-to-speech over ``POST /tts/bytes``, streamed as raw 16 kHz PCM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx

from agents.tts.base import TextToSpeech, TtsError

API_VERSION = "2024-11-13"
SAMPLE_RATE = 16000


class CartesiaTextToSpeech(TextToSpeech):
    """Speech from Cartesia, streamed as 16 kHz mono s16le PCM (``container: raw``)."""

    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.cartesia.ai",
        model: str = "sonic-2",
        voice: str,
        speed: float = 1.0,
        timeout_s: float = 30.0,
    ) -> None:
        """Create the shared HTTP client; nothing is sent until the first synthesis."""
        root = base_url.rstrip("/")
        self._key = api_key
        self._model = model
        self._voice = voice
        self._speed = speed
        self._timeout_s = timeout_s
        self._host = urlsplit(root).netloc or root
        self._client = httpx.AsyncClient(
            base_url=root, timeout=timeout_s, headers={"X-API-Key": api_key, "Cartesia-Version": API_VERSION}
        )

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

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream 16 kHz mono s16 PCM for ``text`` as Cartesia generates it."""
        if not text.strip():
            return
        carry = b""
        sent = 0
        try:
            async with self._client.stream("POST", "/tts/bytes", json=self._request_body(text)) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise TtsError(
                        f"Cartesia ({self._host}) answered HTTP {response.status_code}: {self._error(response)}"
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
                f"cannot reach Cartesia ({self._host}): {self._scrub(str(exc) or type(exc).__name__)}"
            ) from None
        except httpx.TimeoutException:
            raise TtsError(f"Cartesia ({self._host}) did not answer within {self._timeout_s:g} s") from None
        except httpx.HTTPError as exc:
            raise TtsError(
                f"connection to Cartesia ({self._host}) failed: {self._scrub(str(exc) or type(exc).__name__)}"
            ) from None
        if not sent:
            raise TtsError(f"Cartesia ({self._host}) returned no audio")

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._client.aclose()

    def _error(self, response: httpx.Response) -> str:
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
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        # Real keys are long; blanking a short placeholder key would mangle ordinary words instead.
        return text.replace(self._key, "***") if len(self._key) >= 8 else text
