"""OpenAI-compatible ``/audio/speech`` with raw PCM output, streamed as it is generated."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai

from agents.openai_endpoint import DROPPED, STALLED, OpenAIEndpoint
from agents.tts.base import TextToSpeech, TtsError


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
    ) -> None:
        """Create the shared client; nothing is sent until the first synthesis."""
        self._model = model
        self._voice = voice
        # The assistant's speed is shared by every voice provider; OpenAI rejects anything outside 0.25-4.
        self._speed = min(4.0, max(0.25, speed))
        self._timeout_s = timeout_s
        self._endpoint = OpenAIEndpoint(api_key=api_key, base_url=base_url, timeout_s=timeout_s)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream 24 kHz mono s16 PCM for ``text`` as the server produces it."""
        if not text.strip():
            return
        carry = b""
        sent = 0
        ep = self._endpoint
        try:
            async with self._endpoint.client.audio.speech.with_streaming_response.create(
                model=self._model, voice=self._voice, input=text, response_format="pcm", speed=self._speed
            ) as response:
                async for chunk in response.iter_bytes():
                    data = carry + chunk
                    # A network chunk can end inside a sample; the odd byte waits for its partner.
                    carry = data[len(data) & ~1 :]
                    even = data[: len(data) & ~1]
                    if even:
                        sent += len(even)
                        yield even
        except openai.APIStatusError as exc:
            raise TtsError(
                f"{self._endpoint.host} answered HTTP {exc.status_code}: {self._endpoint.describe(exc)}"
            ) from None
        except openai.APITimeoutError:
            raise TtsError(f"{ep.host} did not answer within {self._timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            raise TtsError(f"cannot reach {ep.host}: {ep.unreachable(exc)}") from None
        except STALLED:
            # The SDK wraps failures of the request but not of reading the streamed body.
            raise TtsError(f"{ep.host} stalled mid-stream for {self._timeout_s:g} s") from None
        except DROPPED as exc:
            raise TtsError(
                f"{self._endpoint.host} dropped the stream: {self._endpoint.scrub(str(exc) or type(exc).__name__)}"
            ) from None
        except openai.APIError as exc:
            raise TtsError(f"{ep.host} failed: {ep.describe(exc)}") from None
        if not sent:
            raise TtsError(f"{ep.host} returned no audio")

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._endpoint.aclose()
