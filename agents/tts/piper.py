"""Local text-to-speech: the Piper joe voice from the model package."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from piper import PiperVoice, SynthesisConfig

from agents.inference import ModelWorker
from agents.tts.base import TextToSpeech, TtsError


class PiperVoiceHost:
    """One loaded Piper voice and the thread it runs on, shared by every call that speaks with it."""

    def __init__(self, model_path: Path) -> None:
        self.voice = PiperVoice.load(str(model_path))
        self.sample_rate = int(self.voice.config.sample_rate)
        self.worker = ModelWorker("piper")


class PiperTextToSpeech(TextToSpeech):
    """Speak with the local Piper voice; Piper makes one chunk per sentence, so callers feed it sentences."""

    def __init__(self, *, host: PiperVoiceHost, speed: float = 1.0) -> None:
        self._host = host
        self.sample_rate = host.sample_rate
        self._config = SynthesisConfig(length_scale=1.0 / speed)

    def _synthesize_sync(self, text: str) -> list[bytes]:
        return [chunk.audio_int16_bytes for chunk in self._host.voice.synthesize(text, syn_config=self._config)]

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Yield the sentence's audio at the voice's rate, synthesised on Piper's thread."""
        if not text.strip():
            return
        try:
            chunks = await self._host.worker.run(self._synthesize_sync, text)
        except (RuntimeError, ValueError) as exc:
            raise TtsError(f"local Piper failed: {exc}") from exc
        for chunk in chunks:
            yield chunk
            await asyncio.sleep(0)
