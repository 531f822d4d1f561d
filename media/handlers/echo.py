"""A handler that plays the caller's audio straight back, for RTP round-trip tests."""

from __future__ import annotations

from media.frames import FRAME_MS, silence
from media.handlers.base import AudioHandler
from media.session import MediaSession
from sip_engine.interfaces import CallControl

# Echoed audio arrives exactly as fast as it leaves, so without a cushion any jitter between the receive and
# send clocks leaves the port empty for a packet. Two frames of silence whenever output (re)starts absorb that.
_CUSHION = silence(2 * FRAME_MS)


class EchoHandler(AudioHandler):
    """Send every received frame back to the caller until the call ends."""

    async def run(self, media: MediaSession, call: CallControl) -> None:
        """Echo frames until the call's media ends."""
        async for frame in media.frames():
            if not media.speaking:
                media.play(_CUSHION)
            media.play(frame)
