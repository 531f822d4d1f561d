"""A handler that plays a prompt file or a tone, then listens (and records) or hangs up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from media.audio_files import load_wav_16k
from media.frames import tone
from media.handlers.base import AudioHandler
from media.session import MediaSession
from sip_engine.interfaces import CallControl


class PlaybackHandler(AudioHandler):
    """Play a WAV file and/or a tone, then keep the call (and its recording) going or hang up."""

    def __init__(
        self,
        audio: bytes | Path | None = None,
        tone_hz: float | None = None,
        tone_ms: int = 1000,
        hangup_after: bool = False,
    ) -> None:
        """``audio`` is a WAV path or raw 16 kHz mono s16 bytes; a tone, if given, follows it."""
        self._audio = audio
        self._tone_hz = tone_hz
        self._tone_ms = tone_ms
        self._hangup_after = hangup_after

    def _pcm(self) -> bytes:
        """Build the 16 kHz audio to play (loaded per call so an edited file takes effect)."""
        pcm = b""
        if isinstance(self._audio, bytes | bytearray):
            pcm += bytes(self._audio)
        elif self._audio is not None:
            pcm += load_wav_16k(Path(self._audio))
        if self._tone_hz is not None:
            pcm += tone(self._tone_hz, self._tone_ms)
        return pcm

    async def run(self, media: MediaSession, call: CallControl) -> None:
        """Queue the audio, consume frames until the call ends, or hang up once played if asked to."""
        media.play(self._pcm())
        # Frames are consumed in their own task because the playback end must be noticed even when the
        # peer sends no audio at all (and so no frame would ever wake a loop that checks per frame).
        consumer = asyncio.create_task(self._consume(media))
        try:
            if self._hangup_after:
                await media.wait_played()
                if not media.closed:
                    await call.hangup()
                    return
            await consumer
        finally:
            if not consumer.done():
                consumer.cancel()
                # asyncio.wait never raises the task's CancelledError, so our own cancellation still propagates.
                await asyncio.wait([consumer])

    @staticmethod
    async def _consume(media: MediaSession) -> None:
        """Drain frames so the session keeps pacing output and recording until the call ends."""
        async for _frame in media.frames():
            pass
