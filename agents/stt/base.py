"""The speech-to-text role: a caller's turn of 16 kHz audio in, its text out."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod


class SttError(Exception):
    """A transcription failed (provider unreachable, rejected the key, returned garbage)."""


class SttTurn(ABC):
    """The transcription of one caller turn, fed while the caller speaks."""

    @abstractmethod
    def push(self, pcm16k: bytes) -> None:
        """Add 16 kHz mono s16 audio of this turn without blocking; streaming providers queue it for their sender."""

    @abstractmethod
    async def transcript(self) -> str:
        """Return the text of everything pushed so far; may be called again after more audio arrives."""

    async def aclose(self) -> None:
        """Release what the turn holds (a socket, a buffer); safe to call twice."""
        return None


class SpeechToText(ABC):
    """A speech-to-text provider, shared by every call that uses the same settings."""

    @abstractmethod
    def open_turn(self) -> SttTurn:
        """Start transcribing a new caller turn."""

    async def aclose(self) -> None:
        """Release provider-wide resources (HTTP clients, models)."""
        return None


class BatchSpeechToText(SpeechToText):
    """A provider that transcribes a whole clip per request (local whisper, OpenAI transcription)."""

    @abstractmethod
    async def transcribe(self, pcm16k: bytes) -> str:
        """Transcribe one clip of 16 kHz mono s16 audio."""

    def open_turn(self) -> SttTurn:
        """Start a buffered turn that transcribes on demand and reuses the result while no audio arrives."""
        return _BufferedTurn(self)


class _BufferedTurn(SttTurn):
    def __init__(self, provider: BatchSpeechToText) -> None:
        self._provider = provider
        self._audio = bytearray()
        # One request per distinct length of audio: asking twice without new audio costs one transcription.
        self._pending: tuple[int, asyncio.Task[str]] | None = None

    def push(self, pcm16k: bytes) -> None:
        self._audio += pcm16k

    async def transcript(self) -> str:
        size = len(self._audio)
        if self._pending is None or self._pending[0] != size:
            if self._pending is not None:
                self._pending[1].cancel()
            task = asyncio.ensure_future(self._provider.transcribe(bytes(self._audio)))
            self._pending = (size, task)
        return await asyncio.shield(self._pending[1])

    async def aclose(self) -> None:
        if self._pending is not None and not self._pending[1].done():
            self._pending[1].cancel()
        self._pending = None
        self._audio.clear()
