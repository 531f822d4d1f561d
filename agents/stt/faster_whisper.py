"""Local speech-to-text: whisper base (CTranslate2, int8) from the model package, through faster-whisper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel

from agents.inference import ModelWorker
from agents.stt.base import BatchSpeechToText, SttError


class WhisperModelHost:
    """One loaded whisper model and the thread it runs on, shared by every call that transcribes locally."""

    def __init__(self, model_dir: Path, cpu_threads: int = 2) -> None:
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
        self.worker = ModelWorker("whisper")


class FasterWhisperSpeechToText(BatchSpeechToText):
    """Transcribe each caller turn with the local whisper model, in the assistant's fixed language."""

    def __init__(self, *, host: WhisperModelHost, language: str = "en", beam_size: int = 1) -> None:
        # The language is always given: auto-detection costs ~0.7 s per turn and guesses wrong on short clips.
        self._host = host
        self._language = language.split("-")[0]
        self._beam_size = beam_size

    def _transcribe_sync(self, pcm16k: bytes) -> str:
        audio = np.frombuffer(pcm16k, dtype=np.int16).astype(np.float32) / 32768.0
        segments, _info = self._host.model.transcribe(
            audio,
            language=self._language,
            beam_size=self._beam_size,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    async def transcribe(self, pcm16k: bytes) -> str:
        """Transcribe one clip on the whisper thread."""
        if len(pcm16k) < 3200:  # under 100 ms there is nothing to hear, and whisper would hallucinate
            return ""
        try:
            return await self._host.worker.run(self._transcribe_sync, pcm16k)
        except (RuntimeError, ValueError) as exc:
            raise SttError(f"local whisper failed: {exc}") from exc
