"""The text-to-speech role: a sentence in, mono s16 audio chunks out as soon as they exist."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator


class TtsError(Exception):
    """A synthesis failed (provider unreachable, rejected the key, returned no audio)."""


class TextToSpeech(ABC):
    """A text-to-speech provider, shared by every call that uses the same settings."""

    sample_rate: int
    """The rate of the PCM this provider yields; the conversation resamples it to the call's 16 kHz."""

    @abstractmethod
    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Stream mono s16 PCM at ``sample_rate`` for ``text``, first chunk as early as the provider allows."""

    async def aclose(self) -> None:
        """Release provider-wide resources (HTTP clients, models)."""
        return None


async def whole_samples(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Re-cut a stream of PCM bytes so that every chunk holds whole 16-bit samples."""
    carry = b""
    async for chunk in chunks:
        data = carry + chunk
        # A network chunk can end inside a sample; the odd byte waits for its partner.
        cut = len(data) & ~1
        carry = data[cut:]
        if cut:
            yield data[:cut]
