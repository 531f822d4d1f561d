"""A browser call's audio as an AudioPort: an aiortc peer connection's remote track in, a paced local track out.

The port speaks 48 kHz mono s16 (Opus' own rate, so the usual path needs no resampling on the way out). Received
frames, whatever the browser sends (Opus decodes to 48 kHz stereo, G.711 to 8 kHz mono), are downmixed and
resampled into the receive buffer by one background task. The outgoing track hands aiortc one 20 ms frame per
``recv()`` from the transmit buffer, silence when it is empty, on a real-time schedule, so ``tx_buffered()`` drains
at exactly the speed the browser hears it and ``flush_tx()`` silences the agent within one frame.
"""

from __future__ import annotations

import asyncio
import fractions
import logging

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame

from media.resample import Resampler
from sip_engine.interfaces import AudioFormat

log = logging.getLogger(__name__)

RATE = 48000
FORMAT = AudioFormat(rate=RATE, channels=1)
FRAME_SAMPLES = RATE * FORMAT.ptime_ms // 1000  # 960
FRAME_BYTES = FRAME_SAMPLES * 2
TIME_BASE = fractions.Fraction(1, RATE)
RX_MAX_BYTES = 2 * RATE * 2  # 2 s: a reader that stalls longer loses the oldest audio, memory stays bounded
TX_MAX_BYTES = 2 * RATE * 2  # 2 s of agent audio accepted ahead of the wire
_SKIP_S = 0.1  # a sender this far behind its schedule jumps ahead instead of bursting frames to catch up


def to_mono_s16(frame: AudioFrame) -> np.ndarray:
    """The frame's samples as mono int16, whatever its sample format and channel layout."""
    data = frame.to_ndarray()
    channels = max(1, len(frame.layout.channels))
    # planar: one row per channel; packed: one row of interleaved samples
    samples = data.reshape(channels, -1) if frame.format.is_planar else data.reshape(-1, channels).T
    if samples.dtype.kind == "f":
        mono = np.clip(samples.mean(axis=0) * 32768.0, -32768, 32767)
    elif samples.dtype == np.int32:
        mono = samples.mean(axis=0) / 65536.0
    else:
        mono = samples.mean(axis=0) if channels > 1 else samples[0]
    return np.asarray(mono).astype(np.int16)


class OutgoingAudioTrack(MediaStreamTrack):
    """The agent's side of the call: 20 ms 48 kHz mono frames taken from the port, paced in real time."""

    kind = "audio"

    def __init__(self, port: WebRtcAudioPort) -> None:
        super().__init__()
        self._port = port
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        """The next 20 ms of agent audio (silence when there is none), not before it is due."""
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            self._pts += FRAME_SAMPLES
            due = self._start + self._pts / RATE
            late = loop.time() - due
            if late > _SKIP_S:
                # Stalled (a busy loop): keep timestamps on the wall clock so the browser sees a gap, not a burst.
                skipped = int(late * RATE) // FRAME_SAMPLES * FRAME_SAMPLES
                self._pts += skipped
            elif late < 0:
                await asyncio.sleep(-late)
            if self.readyState != "live":
                raise MediaStreamError
        frame = AudioFrame(format="s16", layout="mono", samples=FRAME_SAMPLES)
        frame.planes[0].update(self._port._take_tx(FRAME_BYTES))
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = TIME_BASE
        return frame


class WebRtcAudioPort:
    """An AudioPort over one RTCPeerConnection: create it before ``setRemoteDescription`` and add ``track``."""

    def __init__(self, pc: RTCPeerConnection) -> None:
        self._pc = pc
        self._rx = bytearray()
        self._tx = bytearray()
        self._closed = False
        self._connected = False
        self._ended = asyncio.get_running_loop().create_future()
        self._up = asyncio.Event()  # set once connected, or closed before that
        self._remote: MediaStreamTrack | None = None
        self._puller: asyncio.Task[None] | None = None
        self._resampler: Resampler | None = None
        self._in_rate = 0
        self.track = OutgoingAudioTrack(self)
        """The local track to add to the peer connection: what the browser hears."""
        self.close_reason = ""
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)

    # -- the AudioPort protocol -------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the connection or the browser's track has ended (or ``close()`` was called)."""
        return self._closed

    def format(self) -> AudioFormat | None:
        """48 kHz mono once the connection is up; None before that and after the end."""
        if self._closed or not self._connected:
            return None
        return FORMAT

    def read(self, max_bytes: int) -> bytes:
        """Take up to ``max_bytes`` (whole samples) of received 48 kHz mono PCM."""
        take = min(max_bytes, len(self._rx)) & ~1
        if take <= 0:
            return b""
        out = bytes(self._rx[:take])
        del self._rx[:take]
        return out

    def write(self, pcm: bytes) -> int:
        """Queue 48 kHz mono PCM for the browser; returns the bytes accepted (0 when media is down or full)."""
        if self._closed or not self._connected:
            return 0
        take = min(len(pcm), TX_MAX_BYTES - len(self._tx)) & ~1
        if take <= 0:
            return 0
        self._tx += pcm[:take]
        return take

    def tx_buffered(self) -> int:
        """Bytes written but not yet handed to the encoder."""
        return len(self._tx)

    def flush_tx(self) -> None:
        """Drop agent audio not yet sent (barge-in)."""
        self._tx.clear()

    # -- life cycle -------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True once the peer connection has been connected (ICE and DTLS up)."""
        return self._connected

    @property
    def remote_track(self) -> MediaStreamTrack | None:
        """The browser's audio track this port listens to, once the remote description brought one."""
        return self._remote

    async def wait_connected(self) -> bool:
        """Wait until the connection is up (True) or the port closed first (False)."""
        await self._up.wait()
        return self._connected and not self._closed

    async def wait_closed(self) -> None:
        """Wait until the port has closed."""
        await asyncio.shield(self._ended)

    def close(self, reason: str = "closed") -> None:
        """End the port: no more audio in or out; the peer connection itself is closed by its owner."""
        if self._closed:
            return
        self._closed = True
        self.close_reason = reason
        self._rx.clear()
        self._tx.clear()
        self.track.stop()
        if self._puller is not None and self._puller is not asyncio.current_task():
            self._puller.cancel()
        self._up.set()
        if not self._ended.done():
            self._ended.set_result(None)

    # -- events -----------------------------------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "audio" or self._remote is not None or self._closed:
            return
        self._remote = track
        self._puller = asyncio.ensure_future(self._pull(track))

    def _on_state(self) -> None:
        state = self._pc.connectionState
        if state == "connected" and not self._closed:
            self._connected = True
            self._up.set()
        elif state in ("failed", "closed"):
            self.close(f"connection {state}")

    async def _pull(self, track: MediaStreamTrack) -> None:
        """Move the browser's frames into the receive buffer until its track ends."""
        try:
            while not self._closed:
                frame = await track.recv()
                if isinstance(frame, AudioFrame):
                    self._receive(frame)
        except MediaStreamError:
            self.close("remote track ended")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("receiving browser audio failed")
            self.close("receive failed")

    def _receive(self, frame: AudioFrame) -> None:
        mono = to_mono_s16(frame)
        rate = int(frame.sample_rate or RATE)
        if rate != RATE:
            if rate != self._in_rate or self._resampler is None:
                self._resampler = Resampler(rate, RATE)
            pcm = self._resampler.process(mono.tobytes())
        else:
            pcm = mono.tobytes()
        self._in_rate = rate
        if not self._connected or not pcm:
            return
        self._rx += pcm
        excess = len(self._rx) - RX_MAX_BYTES
        if excess > 0:
            del self._rx[: excess + (excess & 1)]

    def _take_tx(self, n: int) -> bytes:
        """Up to ``n`` bytes of queued agent audio, padded with silence to exactly ``n``."""
        chunk = bytes(self._tx[:n])
        del self._tx[:n]
        return chunk + bytes(n - len(chunk)) if len(chunk) < n else chunk
