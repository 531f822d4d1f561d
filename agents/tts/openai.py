"""OpenAI-compatible ``/audio/speech`` with raw PCM output, streamed as it is generated."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from types import ModuleType
from urllib.parse import urlsplit

import httpx
import openai
from openai import AsyncOpenAI

from agents.tts.base import TextToSpeech, TtsError

# openai 3 reads responses through httpx2 (older releases through httpx); errors while reading a streamed
# body come unwrapped from whichever it is.
_TRANSPORTS: list[ModuleType] = [httpx]
with contextlib.suppress(ImportError):
    import httpx2

    _TRANSPORTS.append(httpx2)
STALLED: tuple[type[Exception], ...] = tuple(module.TimeoutException for module in _TRANSPORTS)
DROPPED: tuple[type[Exception], ...] = tuple(module.HTTPError for module in _TRANSPORTS)
# Without a key the SDK would read OPENAI_API_KEY from the environment and send it to any base_url.
NO_KEY = "no-key"


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
        self._key = api_key or ""
        self._model = model
        self._voice = voice
        # The assistant's speed is shared by every voice provider; OpenAI rejects anything outside 0.25-4.
        self._speed = min(4.0, max(0.25, speed))
        self._timeout_s = timeout_s
        self._host = urlsplit(base_url).netloc or base_url
        # The caller hears silence while the SDK backs off, so failures surface at once instead.
        self._client = AsyncOpenAI(api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout_s, max_retries=0)

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream 24 kHz mono s16 PCM for ``text`` as the server produces it."""
        if not text.strip():
            return
        carry = b""
        sent = 0
        try:
            async with self._client.audio.speech.with_streaming_response.create(
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
            raise TtsError(f"{self._host} answered HTTP {exc.status_code}: {self._describe(exc)}") from None
        except openai.APITimeoutError:
            raise TtsError(f"{self._host} did not answer within {self._timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            raise TtsError(f"cannot reach {self._host}: {self._scrub(_root_cause(exc))}") from None
        except STALLED:
            # The SDK wraps failures of the request but not of reading the streamed body.
            raise TtsError(f"{self._host} stalled mid-stream for {self._timeout_s:g} s") from None
        except DROPPED as exc:
            raise TtsError(f"{self._host} dropped the stream: {self._scrub(str(exc) or type(exc).__name__)}") from None
        except openai.APIError as exc:
            raise TtsError(f"{self._host} failed: {self._describe(exc)}") from None
        if not sent:
            raise TtsError(f"{self._host} returned no audio")

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._client.close()

    def _describe(self, exc: openai.APIError) -> str:
        body = exc.body
        message = body.get("message") if isinstance(body, dict) else None
        if not message:
            message = body if isinstance(body, str) and body else exc.message
        return self._scrub(str(message))

    def _scrub(self, text: str) -> str:
        # Real keys are long; blanking a short placeholder key would mangle ordinary words instead.
        return text.replace(self._key, "***") if len(self._key) >= 8 else text


def _root_cause(exc: BaseException) -> str:
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause) or type(cause).__name__
