"""OpenAI-compatible ``/audio/speech`` with raw PCM output, streamed as it is generated."""

from __future__ import annotations

from collections.abc import AsyncIterator

from agents.clients import SharedClients
from agents.openai_endpoint import OpenAIEndpoint
from agents.tts.base import TextToSpeech, TtsError, whole_samples


class OpenAITextToSpeech(TextToSpeech):
    """Speech from OpenAI's ``/audio/speech`` (``response_format: pcm``: 24 kHz mono s16le)."""

    sample_rate = 24000

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str,
        model: str = "gpt-4o-mini-tts",
        voice: str = "alloy",
        speed: float = 1.0,
        timeout_s: float = 30.0,
        clients: SharedClients | None = None,
    ) -> None:
        """Borrow the process's client for this endpoint (or create one); nothing is sent yet."""
        self._model = model
        self._voice = voice
        # The assistant's speed is shared by every voice provider; OpenAI rejects anything outside 0.25-4.
        self._speed = min(4.0, max(0.25, speed))
        self._timeout_s = timeout_s
        self._endpoint = OpenAIEndpoint(api_key=api_key, base_url=base_url, timeout_s=timeout_s, clients=clients)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream 24 kHz mono s16 PCM for ``text`` as the server produces it."""
        if not text.strip():
            return
        sent = 0
        ep = self._endpoint
        try:
            async with ep.client.audio.speech.with_streaming_response.create(
                model=self._model, voice=self._voice, input=text, response_format="pcm", speed=self._speed
            ) as response:
                async for even in whole_samples(response.iter_bytes()):
                    sent += len(even)
                    yield even
        except Exception as exc:
            message = ep.failure(exc)
            if message is None:
                raise
            raise TtsError(message) from None
        if not sent:
            raise TtsError(f"{ep.host} returned no audio")

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._endpoint.aclose()
