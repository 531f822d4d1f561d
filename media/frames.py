"""The one internal audio format (16 kHz mono signed 16-bit, 20 ms frames) and small helpers for it."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 320
FRAME_BYTES = FRAME_SAMPLES * 2  # 640

_FULL_SCALE = 32768.0


def silence(ms: int) -> bytes:
    """Return ``ms`` milliseconds of 16 kHz mono s16 silence."""
    return bytes(ms * SAMPLE_RATE // 1000 * 2)


def tone(frequency_hz: float, ms: int, amplitude: float = 0.3) -> bytes:
    """Return a sine tone of ``ms`` milliseconds as 16 kHz mono s16, ``amplitude`` as a fraction of full scale."""
    n = ms * SAMPLE_RATE // 1000
    t = np.arange(n, dtype=np.float64) / SAMPLE_RATE
    wave = np.sin(2.0 * np.pi * frequency_hz * t) * (amplitude * 32767.0)
    return wave.astype(np.int16).tobytes()


def rms(pcm: bytes) -> float:
    """Return the RMS level of s16 PCM as a fraction (0..1) of full scale; 0.0 for empty input."""
    usable = len(pcm) - len(pcm) % 2
    if usable == 0:
        return 0.0
    samples = np.frombuffer(pcm[:usable], dtype=np.int16).astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples)) / _FULL_SCALE)
