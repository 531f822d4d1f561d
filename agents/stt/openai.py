"""OpenAI-compatible ``/audio/transcriptions``: each caller turn is sent whole as a WAV clip."""

from __future__ import annotations

import io
import wave

from agents.clients import SharedClients
from agents.openai_endpoint import OpenAIEndpoint
from agents.stt.base import BatchSpeechToText, SttError

SAMPLE_RATE = 16000
# OpenAI rejects clips under 0.1 s ("Audio file is too short"); such a clip holds no words anyway.
MIN_SAMPLES = SAMPLE_RATE // 10


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
        clients: SharedClients | None = None,
    ) -> None:
        """Borrow the process's client for this endpoint (or create one); nothing is sent yet."""
        self._model = model
        self._language = language
        self._timeout_s = timeout_s
        self._endpoint = OpenAIEndpoint(api_key=api_key, base_url=base_url, timeout_s=timeout_s, clients=clients)

    async def transcribe(self, pcm16k: bytes) -> str:
        """Transcribe one clip of 16 kHz mono s16 audio."""
        if len(pcm16k) // 2 < MIN_SAMPLES:
            return ""
        ep = self._endpoint
        try:
            result = await ep.client.audio.transcriptions.create(
                file=("turn.wav", to_wav(pcm16k), "audio/wav"),
                model=self._model,
                language=self._language,
                response_format="json",
            )
        except Exception as exc:
            message = ep.failure(exc)
            if message is None:
                raise
            raise SttError(message) from None
        text = getattr(result, "text", None)
        if not isinstance(text, str):
            raise SttError(f"{ep.host} answered without a transcript")
        return text.strip()

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._endpoint.aclose()


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
