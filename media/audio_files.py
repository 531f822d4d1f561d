"""Loading prompt and hold-music files into the internal 16 kHz mono s16 format."""

from __future__ import annotations

import wave
from pathlib import Path

from media.frames import SAMPLE_RATE
from media.resample import Resampler


def load_wav_16k(path: Path | str) -> bytes:
    """Read a 16-bit PCM WAV (any rate, mono or stereo) and return it as 16 kHz mono s16."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            channels = wav.getnchannels()
            width = wav.getsampwidth()
            rate = wav.getframerate()
            pcm = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        # wave raises these for non-RIFF files, compressed formats and truncated headers alike.
        raise ValueError(f"{path}: not a readable PCM WAV file ({exc})") from exc
    if width != 2:
        raise ValueError(f"{path}: {8 * width}-bit samples are not supported, only 16-bit PCM")
    if channels not in (1, 2):
        raise ValueError(f"{path}: {channels} channels are not supported, only mono or stereo")
    if rate <= 0:
        raise ValueError(f"{path}: invalid sample rate {rate}")
    resampler = Resampler(rate, SAMPLE_RATE, in_channels=channels, low_latency=False)
    return resampler.process(pcm) + resampler.flush()
