"""One call's media loop: 20 ms input frames at 16 kHz, real-time paced output, barge-in and recording."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import numpy as np

from media.frames import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, silence
from media.recording import StereoRecorder
from media.resample import Resampler
from sip_engine.interfaces import AudioFormat, AudioPort

log = logging.getLogger(__name__)

_TICK_S = FRAME_MS / 1000
# A tick this late counts as late in the stats; later than _SKIP_S the clock jumps instead of catching up,
# because a burst of back-to-back ticks after a long stall only adds load when the system is already behind.
_LATE_S = 0.010
_SKIP_S = 0.100
_READ_CHUNK = 8192
_SILENT_TICK = silence(FRAME_MS)
_STARVED_TICKS = 10  # 200 ms without any received audio: the far end has gone quiet, not just late


@dataclass
class MediaStats:
    """Counters for one call's media loop."""

    frames_in: int = 0
    """20 ms frames yielded to the handler."""
    frames_out: int = 0
    """20 ms worth of 16 kHz audio handed to the port."""
    underruns: int = 0
    """Ticks where the port's transmit buffer was empty although audio was still queued here."""
    late_ticks: int = 0
    """Ticks that started more than 10 ms after their scheduled time."""
    silent_fill: int = 0
    """Silent frames given to the handler because nothing was received for a while."""


class MediaSession:
    """Adapt a call's raw AudioPort to 16 kHz 20 ms frames in and paced, flushable audio out."""

    def __init__(
        self,
        port: AudioPort,
        recorder: StereoRecorder | None = None,
        lead_ms: int = 60,
        media_timeout_s: float = 10.0,
    ) -> None:
        """Wrap ``port``; ``lead_ms`` is how much audio the port is kept ahead by, ``recorder`` is not closed here."""
        if lead_ms < 2 * FRAME_MS:
            # With less than two ticks of lead the port empties whenever a tick is a few ms late.
            raise ValueError(f"lead_ms must be at least {2 * FRAME_MS}, got {lead_ms}")
        self._port = port
        self._recorder = recorder
        self._lead_ms = lead_ms
        self._media_timeout_s = media_timeout_s
        self._out = bytearray()  # 16 kHz mono s16 not yet handed to the port
        self._tx_pending = b""  # codec-rate audio the port did not accept yet
        self._in = bytearray()  # 16 kHz mono s16 received but short of a whole frame
        self._format: AudioFormat | None = None
        self._rx: Resampler | None = None
        self._tx: Resampler | None = None
        self._tx_dirty = False  # the tx resampler holds input whose tail has not been flushed out
        self._moved_last_tick = False
        self._backlog = False  # audio was still waiting here at the end of the previous tick
        self._drained = asyncio.Event()
        self._drained.set()
        self._stats = MediaStats()
        self._out_bytes = 0
        self._running = False

    # -- output side, called by the handler -------------------------------------------------------

    def play(self, pcm16k: bytes) -> None:
        """Queue 16 kHz mono s16 audio to be sent after whatever is already queued."""
        if not pcm16k:
            return
        self._out += pcm16k
        if len(self._out) >= 2:
            self._drained.clear()

    def flush(self) -> None:
        """Drop all queued audio here and in the port so the far end stops hearing us within one tick."""
        self._out.clear()
        self._tx_pending = b""
        if self._tx is not None:
            self._tx.reset()
        self._tx_dirty = False
        self._backlog = False
        self._port.flush_tx()
        self._drained.set()

    @property
    def queued_ms(self) -> float:
        """Milliseconds of audio not yet sent: queued here plus buffered in the port."""
        ours = (len(self._out) // 2) * 1000 / SAMPLE_RATE
        fmt = self._format
        if fmt is None:
            return ours
        codec_bytes = len(self._tx_pending) + self._port.tx_buffered()
        return ours + codec_bytes * 1000 / (fmt.rate * fmt.channels * 2)

    @property
    def speaking(self) -> bool:
        """True while any of our audio is still waiting to be sent."""
        return self.queued_ms > 0

    async def wait_played(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - returns False, no raise
        """Wait until all queued audio has left the port (or the media loop ended); False on timeout."""
        if self._drained.is_set():
            return True
        try:
            async with asyncio.timeout(timeout):
                await self._drained.wait()
        except TimeoutError:
            return False
        return True

    @property
    def closed(self) -> bool:
        """True once the call's media has ended for good."""
        return self._port.closed

    @property
    def stats(self) -> MediaStats:
        """A snapshot of the loop's counters."""
        return replace(self._stats, frames_out=self._out_bytes // FRAME_BYTES)

    # -- the loop ---------------------------------------------------------------------------------

    async def frames(self) -> AsyncIterator[bytes]:
        """Drive the call's media and yield received audio as 640-byte frames until the call ends.

        This generator is the session's only loop: it also moves queued output to the port and feeds the
        recorder, so the handler must keep iterating it (and not block for long between frames) while the
        call lasts. It ends quietly when media never comes up within ``media_timeout_s``.
        """
        if self._running:
            raise RuntimeError("frames() is already being iterated for this call")
        self._running = True
        try:
            if not await self._wait_for_media():
                return
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            tick = 0
            starved = 0
            while not self._port.closed:
                late = loop.time() - (t0 + tick * _TICK_S)
                if late > _LATE_S:
                    self._stats.late_ticks += 1
                    if late > _SKIP_S:
                        tick = int((loop.time() - t0) / _TICK_S)
                self._tick()
                starved += 1
                while len(self._in) >= FRAME_BYTES:
                    frame = bytes(self._in[:FRAME_BYTES])
                    del self._in[:FRAME_BYTES]
                    self._stats.frames_in += 1
                    starved = 0
                    yield frame
                if starved >= _STARVED_TICKS and not self._port.closed:
                    # The far end stopped sending (silence suppression, a stalled peer): the handler still gets
                    # its tick, as silence, so whatever it is saying keeps flowing.
                    self._stats.silent_fill += 1
                    yield _SILENT_TICK
                tick += 1
                # Sleep to an absolute schedule so per-sleep overshoot never accumulates into drift.
                await asyncio.sleep(max(0.0, t0 + tick * _TICK_S - loop.time()))
        finally:
            self._running = False
            # Nothing moves audio any more; release anyone waiting for playback to finish.
            self._drained.set()

    async def _wait_for_media(self) -> bool:
        """Poll until the port has a format; False if the call ends or media_timeout_s passes first."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self._media_timeout_s
        while not self._port.closed:
            if self._port.format() is not None:
                return True
            if loop.time() >= give_up:
                log.info("no media after %.1f s, giving up", self._media_timeout_s)
                return False
            await asyncio.sleep(_TICK_S)
        return False

    def _tick(self) -> None:
        """Do one 20 ms step: top up the port's transmit buffer, then collect what was received."""
        fmt = self._port.format()
        if fmt != self._format:
            self._configure(fmt)
        if fmt is None:
            # Media is down for now (e.g. re-INVITE in progress); keep the clock running and wait.
            return
        self._pump_out(fmt)
        self._pump_in()
        if len(self._out) < 2 and not self._tx_pending and not self._tx_dirty and self._port.tx_buffered() == 0:
            self._drained.set()

    def _configure(self, fmt: AudioFormat | None) -> None:
        """Build resamplers for a newly negotiated (or changed) codec format."""
        self._format = fmt
        self._tx_pending = b""  # bytes at the old codec rate would play at the wrong speed
        self._tx_dirty = False
        if fmt is None:
            self._rx = self._tx = None
            return
        self._rx = Resampler(fmt.rate, SAMPLE_RATE, in_channels=fmt.channels)
        self._tx = Resampler(SAMPLE_RATE, fmt.rate)
        log.debug("media up: %d Hz, %d channel(s)", fmt.rate, fmt.channels)

    def _pump_out(self, fmt: AudioFormat) -> None:
        """Hand queued audio to the port until it holds lead_ms, converting it to the codec rate."""
        assert self._tx is not None
        port = self._port
        buffered = port.tx_buffered()
        if buffered == 0 and self._backlog:
            self._stats.underruns += 1
        port_idle = buffered == 0 and not self._tx_pending and len(self._out) < 2
        bytes_per_sample = 2 * fmt.channels
        target = self._lead_ms * fmt.rate // 1000 * bytes_per_sample
        moved = False
        if len(self._out) < 2 and self._tx_dirty and not self._moved_last_tick:
            # A whole tick passed with nothing new to say, so the utterance is over: push out the filter's
            # last few ms now rather than letting them leak in front of the next utterance.
            self._tx_pending += self._to_codec(self._tx.flush(), fmt.channels)
            self._tx_dirty = False
        while buffered < target:
            if self._tx_pending:
                accepted = port.write(self._tx_pending)
                self._tx_pending = self._tx_pending[accepted:]
                buffered += accepted
                if self._tx_pending:
                    break  # the port is full or media is down; retry next tick
                continue
            if len(self._out) < 2:
                break
            want_samples = math.ceil((target - buffered) / bytes_per_sample * SAMPLE_RATE / fmt.rate)
            take = min(2 * want_samples, len(self._out) - len(self._out) % 2)
            chunk = bytes(self._out[:take])
            del self._out[:take]
            moved = True
            self._out_bytes += take
            if self._recorder is not None:
                self._recorder.add_agent(chunk)
            self._tx_pending = self._to_codec(self._tx.process(chunk), fmt.channels)
            self._tx_dirty = not self._tx.passthrough
        self._moved_last_tick = moved
        self._backlog = len(self._out) >= 2 or bool(self._tx_pending)
        if port_idle and not moved and self._recorder is not None:
            # The far end hears silence now; record it so the agent channel keeps pace with the caller's.
            self._recorder.add_agent(_SILENT_TICK)

    @staticmethod
    def _to_codec(mono: bytes, channels: int) -> bytes:
        """Duplicate mono samples onto every channel the codec carries."""
        if channels == 1 or not mono:
            return mono
        return np.repeat(np.frombuffer(mono, dtype=np.int16), channels).tobytes()

    def _pump_in(self) -> None:
        """Read everything the port received, convert it to 16 kHz mono and record it."""
        assert self._rx is not None
        while True:
            data = self._port.read(_READ_CHUNK)
            if not data:
                return
            pcm = self._rx.process(data)
            if pcm:
                self._in += pcm
                if self._recorder is not None:
                    self._recorder.add_caller(pcm)
            if len(data) < _READ_CHUNK:
                return
