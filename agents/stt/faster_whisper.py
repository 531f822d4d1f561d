"""Local speech-to-text: whisper base (CTranslate2, int8) from the model package, through faster-whisper.

A phone turn is a few seconds long, but whisper's encoder is trained on 30-second windows and faster-whisper always
pads to one: on 2 cores that padding alone costs ~0.85 s per turn. CTranslate2 accepts a shorter window, so a turn
is first transcribed in a window just longer than itself (measured 0.15-0.4 s instead of 1.2-1.9 s, with the same
words on Piper and espeak-ng speech). Short windows sometimes make whisper loop ("Yes. Yes. Yes. ..."); such a
transcript is recognised by its compression ratio, as whisper itself does, and the turn is then transcribed again
with the full window.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens

from agents.inference import ModelWorker
from agents.stt.base import BatchSpeechToText, SttError
from media.frames import SAMPLE_RATE

_FULL_WINDOW_S = 30  # whisper's own window: longer turns take faster-whisper's segmenting path
_MIN_WINDOW_S = 8  # shorter windows make one-word turns loop or change from run to run (measured at 4 and 6 s)
_TAIL_S = 1.0  # silence after the speech inside the window, so the last word is not cut
_TOKENS_PER_S = 8  # fast speech is ~4 words/s; more tokens than this means the decoder is looping
_LOOPING_RATIO = 2.4  # whisper's compression-ratio threshold for repetitive output
_FRAMES_PER_S = 100  # whisper's mel frames per second


class WhisperModelHost:
    """One loaded whisper model and the thread it runs on, shared by every call that transcribes locally."""

    def __init__(self, model_dir: Path, cpu_threads: int = 2) -> None:
        self.model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
        self.worker = ModelWorker("whisper")
        self.short_windows = 0  # turns transcribed in a short window
        self.full_windows = 0  # turns that needed the full 30-second window


def _looks_looped(text: str) -> bool:
    """Whether whisper repeated itself: a sentence said again at once, or text that compresses too well."""
    sentences = [words for part in re.split(r"[.?!]", text) if (words := re.findall(r"[\w']+", part.lower()))]
    for first, then in itertools.pairwise(sentences):
        shorter = min(len(first), len(then))
        if first[:shorter] == then[:shorter]:
            return True
    data = text.encode()
    return len(data) > 24 and len(data) / len(zlib.compress(data)) > _LOOPING_RATIO


class FasterWhisperSpeechToText(BatchSpeechToText):
    """Transcribe each caller turn with the local whisper model, in the assistant's fixed language."""

    def __init__(self, *, host: WhisperModelHost, language: str = "en", beam_size: int = 1) -> None:
        # The language is always given: auto-detection costs ~0.7 s per turn and guesses wrong on short clips.
        self._host = host
        self._language = language.split("-")[0]
        self._beam_size = beam_size
        model = host.model
        self._tokenizer = Tokenizer(
            model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=self._language
        )
        self._prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        self._suppressed = list(get_suppressed_tokens(self._tokenizer, [-1]))

    def _short_window(self, audio: np.ndarray) -> str | None:
        """Transcribe in a window just longer than the turn; None when the result looks like a decoder loop."""
        duration = audio.size / SAMPLE_RATE
        window_s = max(_MIN_WINDOW_S, math.ceil(duration + _TAIL_S))
        padded = np.pad(audio, (0, window_s * SAMPLE_RATE - audio.size))
        mel = self._host.model.feature_extractor(padded, padding=0)[:, : window_s * _FRAMES_PER_S]
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[np.newaxis], dtype=np.float32))
        max_tokens = int(duration * _TOKENS_PER_S) + 8
        (result,) = self._host.model.model.generate(
            features,
            [self._prompt],
            beam_size=self._beam_size,
            max_length=len(self._prompt) + max_tokens,
            suppress_blank=True,
            suppress_tokens=self._suppressed,
        )
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        text = self._tokenizer.decode(tokens).strip()
        if len(tokens) >= max_tokens or _looks_looped(text):
            return None
        return text

    def _full_window(self, audio: np.ndarray) -> str:
        segments, _info = self._host.model.transcribe(
            audio,
            language=self._language,
            beam_size=self._beam_size,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,
        )
        return " ".join(segment.text.strip() for segment in segments).strip()

    def _transcribe_sync(self, pcm16k: bytes) -> str:
        audio = np.frombuffer(pcm16k, dtype=np.int16).astype(np.float32) / 32768.0
        if audio.size / SAMPLE_RATE <= _FULL_WINDOW_S - _TAIL_S:
            text = self._short_window(audio)
            if text is not None:
                self._host.short_windows += 1
                return text
        self._host.full_windows += 1
        return self._full_window(audio)

    async def transcribe(self, pcm16k: bytes) -> str:
        """Transcribe one clip on the whisper thread."""
        if len(pcm16k) < 3200:  # under 100 ms there is nothing to hear, and whisper would hallucinate
            return ""
        try:
            return await self._host.worker.run(self._transcribe_sync, pcm16k)
        except (RuntimeError, ValueError) as exc:
            raise SttError(f"local whisper failed: {exc}") from exc
