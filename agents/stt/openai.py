"""OpenAI-compatible ``/audio/transcriptions``: each caller turn is sent whole as a WAV clip."""

from __future__ import annotations

import io
import wave
from urllib.parse import urlsplit

import openai
from openai import AsyncOpenAI

from agents.stt.base import BatchSpeechToText, SttError

SAMPLE_RATE = 16000
# OpenAI rejects clips under 0.1 s ("Audio file is too short"); such a clip holds no words anyway.
MIN_SAMPLES = SAMPLE_RATE // 10
# Without a key the SDK would read OPENAI_API_KEY from the environment and send it to any base_url.
NO_KEY = "no-key"


class OpenAISpeechToText(BatchSpeechToText):
    """Whisper-style batch transcription through any OpenAI-compatible endpoint."""

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str,
        model: str = "gpt-4o-mini-transcribe",
        language: str = "en",
        timeout_s: float = 30.0,
    ) -> None:
        """Create the shared client; nothing is sent until the first transcription."""
        self._key = api_key or ""
        self._model = model
        self._language = language
        self._timeout_s = timeout_s
        self._host = urlsplit(base_url).netloc or base_url
        # The caller is waiting for an answer, so a failure surfaces at once instead of after SDK backoff.
        self._client = AsyncOpenAI(api_key=api_key or NO_KEY, base_url=base_url, timeout=timeout_s, max_retries=0)

    async def transcribe(self, pcm16k: bytes) -> str:
        """Transcribe one clip of 16 kHz mono s16 audio."""
        if len(pcm16k) // 2 < MIN_SAMPLES:
            return ""
        try:
            result = await self._client.audio.transcriptions.create(
                file=("turn.wav", to_wav(pcm16k), "audio/wav"),
                model=self._model,
                language=self._language,
                response_format="json",
            )
        except openai.APIStatusError as exc:
            raise SttError(f"{self._host} answered HTTP {exc.status_code}: {self._describe(exc)}") from None
        except openai.APITimeoutError:
            raise SttError(f"{self._host} did not transcribe within {self._timeout_s:g} s") from None
        except openai.APIConnectionError as exc:
            raise SttError(f"cannot reach {self._host}: {self._scrub(_root_cause(exc))}") from None
        except openai.APIError as exc:
            raise SttError(f"{self._host} failed: {self._describe(exc)}") from None
        text = getattr(result, "text", None)
        if not isinstance(text, str):
            raise SttError(f"{self._host} answered without a transcript")
        return text.strip()

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


def to_wav(pcm16k: bytes) -> bytes:
    """Wrap 16 kHz mono s16 PCM in a WAV container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        # A dangling odd byte is half a sample; WAV readers would misalign on it.
        wav.writeframes(pcm16k[: len(pcm16k) - len(pcm16k) % 2])
    return buffer.getvalue()


def _root_cause(exc: BaseException) -> str:
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause) or type(cause).__name__
