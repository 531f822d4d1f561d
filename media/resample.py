"""Streaming sample-rate conversion of s16 PCM between a call's codec rate and the internal 16 kHz."""

from __future__ import annotations

import logging

import numpy as np
import soxr

log = logging.getLogger(__name__)

# Measured here (soxr 1.1, 20 ms chunks, 8k<->16k, both directions of one call): every preset is cheap, 0.4-0.6 ms
# CPU per second of audio in fixed-rate mode and ~1.2 ms in variable-rate mode, so 100 calls cost 4-12 % of ONE core.
# CPU is therefore not what decides. Latency and filtering are:
#   fixed-rate LQ/MQ/HQ hold 20 ms chunks back and release them in 60-115 ms bursts (HQ: 63 ms average delay);
#   fixed-rate QQ has no delay but no anti-alias filter either (a 6 kHz tone folds to 2 kHz only 3 dB down);
#   variable-rate mode streams every chunk with a steady 15 ms (down) / 30 ms (up) delay and full filtering
#   (aliases at -94 dBFS, flat to 3.4 kHz, images at -110 dB), at ~12 % of one core for 100 calls.
# So live audio uses the variable-rate engine (its output does not depend on the preset) with the HQ preset, and
# whole files, where delay is irrelevant, use the cheaper fixed-rate HQ.
QUALITY = "HQ"
_warned_no_vr = False


class Resampler:
    """Convert a stream of s16 PCM chunks from ``in_rate`` to ``out_rate`` mono, keeping filter state between chunks."""

    def __init__(self, in_rate: int, out_rate: int, in_channels: int = 1, low_latency: bool = True) -> None:
        """Prepare a converter; stereo input is averaged to mono; ``low_latency=False`` suits whole files."""
        if in_rate <= 0 or out_rate <= 0:
            raise ValueError(f"sample rates must be positive, got {in_rate} -> {out_rate}")
        if in_channels not in (1, 2):
            raise ValueError(f"in_channels must be 1 or 2, got {in_channels}")
        self.in_rate = in_rate
        self.out_rate = out_rate
        self.in_channels = in_channels
        self.low_latency = low_latency
        self._frame_bytes = 2 * in_channels
        # Callers may cut chunks anywhere (e.g. streamed TTS); a split sample waits here for its other half.
        self._carry = b""
        self._stream: soxr.ResampleStream | None = None
        if in_rate != out_rate:
            self._stream = self._new_stream()

    @property
    def passthrough(self) -> bool:
        """True when input already has the output format and is returned unchanged."""
        return self._stream is None and self.in_channels == 1

    def process(self, pcm: bytes) -> bytes:
        """Convert the next chunk; output may lag input slightly because of the filter's delay."""
        if self._carry:
            pcm = self._carry + pcm
            self._carry = b""
        cut = len(pcm) - len(pcm) % self._frame_bytes
        if cut != len(pcm):
            self._carry = bytes(pcm[cut:])
            pcm = pcm[:cut]
        if self.passthrough or not pcm:
            return pcm
        samples = np.frombuffer(pcm, dtype=np.int16)
        if self.in_channels == 2:
            pairs = samples.reshape(-1, 2).astype(np.int32)
            samples = ((pairs[:, 0] + pairs[:, 1]) >> 1).astype(np.int16)
        if self._stream is None:
            return samples.tobytes()
        return self._stream.resample_chunk(samples).tobytes()

    def flush(self) -> bytes:
        """Return the samples still held in the filter (end of a stream) and start afresh."""
        self._carry = b""
        if self._stream is None:
            return b""
        tail = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True).tobytes()
        self._stream = self._new_stream()
        return tail

    def reset(self) -> None:
        """Drop buffered input and filter state without producing output (used on barge-in)."""
        self._carry = b""
        if self._stream is not None:
            self._stream = self._new_stream()

    def _new_stream(self) -> soxr.ResampleStream:
        """Create the soxr stream; a fresh one is cheaper to reason about than clear() after last=True."""
        global _warned_no_vr
        if self.low_latency:
            try:
                return soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="int16", quality=QUALITY, vr=True)
            except TypeError:
                # Older soxr releases have no variable-rate mode; fixed-rate output is bursty but still correct.
                if not _warned_no_vr:
                    _warned_no_vr = True
                    log.warning("soxr %s lacks variable-rate mode: live audio will lag ~60 ms", soxr.__version__)
        return soxr.ResampleStream(self.in_rate, self.out_rate, 1, dtype="int16", quality=QUALITY)
