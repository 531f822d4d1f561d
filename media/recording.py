"""Crash-tolerant stereo call recording: caller on the left channel, agent on the right."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from media.frames import SAMPLE_RATE

_HEADER_BYTES = 44
# One side may run this far ahead of the other before the silent side is padded; enough to ride out
# packet jitter and the session's transmit lead without shifting the channels against each other.
_MAX_LEAD_MS = 200


def _wav_header(rate: int, data_bytes: int) -> bytes:
    """Build a canonical 44-byte header for 16-bit stereo PCM holding ``data_bytes`` of samples."""
    channels, width = 2, 2
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        _HEADER_BYTES - 8 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        channels,
        rate,
        rate * channels * width,
        channels * width,
        8 * width,
        b"data",
        data_bytes,
    )


class StereoRecorder:
    """Write a call as a stereo WAV while it runs, keeping both sides time-aligned."""

    def __init__(self, path: Path, rate: int = SAMPLE_RATE) -> None:
        """Create (or truncate) ``path`` and write an empty but valid WAV header."""
        self.path = Path(path)
        self.rate = rate
        self._caller = bytearray()
        self._agent = bytearray()
        # Set on a side once it has been padded for lack of audio; its next audio then starts "now", i.e. level
        # with the other side, instead of filling whatever the other side still holds back (up to 200 ms early).
        self._caller_padded = False
        self._agent_padded = False
        self._max_lead_bytes = rate * _MAX_LEAD_MS // 1000 * 2
        # Header sizes are patched after this much new audio, so a crash loses at most about a second.
        self._patch_every_bytes = rate * 4
        self._data_bytes = 0
        self._patched_at = 0
        self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - lives as long as the recorder
        self._file.write(_wav_header(rate, 0))
        self._file.flush()

    @property
    def duration_s(self) -> float:
        """Seconds of stereo audio written so far."""
        return self._data_bytes / (4 * self.rate)

    @property
    def closed(self) -> bool:
        """True once close() has finalised the file."""
        return self._file is None

    def add_caller(self, pcm: bytes) -> None:
        """Append mono s16 audio at the recorder's rate to the caller (left) side; ignored after close()."""
        if self._file is None or not pcm:
            return
        if self._caller_padded:
            self._caller_padded = False
            self._caller += bytes(max(0, len(self._agent) - len(self._caller)))
        self._caller += pcm
        self._write_ready()

    def add_agent(self, pcm: bytes) -> None:
        """Append mono s16 audio at the recorder's rate to the agent (right) side; ignored after close()."""
        if self._file is None or not pcm:
            return
        if self._agent_padded:
            self._agent_padded = False
            self._agent += bytes(max(0, len(self._caller) - len(self._agent)))
        self._agent += pcm
        self._write_ready()

    def close(self) -> None:
        """Pad the shorter side, write what is left and finalise the header; safe to call twice."""
        if self._file is None:
            return
        try:
            self._pad_shorter()
            self._write_ready()
            self._patch_header()
        finally:
            self._file.close()
            self._file = None
            self._caller.clear()
            self._agent.clear()

    def _write_ready(self) -> None:
        """Write the stretch both sides cover, padding a side that has fallen more than the allowed lead behind."""
        # A side that is silent (absent RTP, agent not speaking) would otherwise hold back the other forever
        # and then glue its next audio onto the wrong moment; padding it keeps the two clocks together.
        gap = len(self._caller) - len(self._agent)
        if gap > self._max_lead_bytes:
            self._pad_shorter()
            self._agent_padded = True
        elif -gap > self._max_lead_bytes:
            self._pad_shorter()
            self._caller_padded = True
        common = min(len(self._caller), len(self._agent))
        common -= common % 2
        if common == 0:
            return
        left = np.frombuffer(self._caller, dtype=np.int16, count=common // 2)
        right = np.frombuffer(self._agent, dtype=np.int16, count=common // 2)
        stereo = np.empty(common, dtype=np.int16)
        stereo[0::2] = left
        stereo[1::2] = right
        # Release the numpy views before resizing the bytearrays (a live export would make del fail).
        del left, right
        del self._caller[:common]
        del self._agent[:common]
        assert self._file is not None
        self._file.write(stereo.tobytes())
        self._data_bytes += 2 * common
        if self._data_bytes - self._patched_at >= self._patch_every_bytes:
            self._patch_header()

    def _pad_shorter(self) -> None:
        """Fill the shorter side with silence up to the longer one."""
        gap = len(self._caller) - len(self._agent)
        if gap > 0:
            self._agent += bytes(gap)
        elif gap < 0:
            self._caller += bytes(-gap)

    def _patch_header(self) -> None:
        """Rewrite the RIFF and data sizes for the audio written so far and push it to the OS."""
        assert self._file is not None
        self._file.flush()
        end = self._file.tell()
        self._file.seek(0)
        self._file.write(_wav_header(self.rate, self._data_bytes))
        self._file.seek(end)
        self._file.flush()
        self._patched_at = self._data_bytes
