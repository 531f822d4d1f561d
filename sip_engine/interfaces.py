"""The small surface the rest of Trunkline sees of a call: its raw audio port and its controls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class AudioFormat:
    """The PCM format a call negotiated: signed 16-bit native-endian, interleaved."""

    rate: int
    channels: int
    ptime_ms: int = 20


class AudioPort(Protocol):
    """One call's raw PCM at the negotiated codec rate; every method returns at once."""

    @property
    def closed(self) -> bool:
        """True once the call has ended; no more audio will come or go."""
        ...

    def format(self) -> AudioFormat | None:
        """The negotiated format, or None while the call has no media yet."""
        ...

    def read(self, max_bytes: int) -> bytes:
        """Take up to ``max_bytes`` of received PCM; b"" when nothing arrived or media is down."""
        ...

    def write(self, pcm: bytes) -> int:
        """Queue PCM for sending and return the bytes accepted (0 when media is down)."""
        ...

    def tx_buffered(self) -> int:
        """Bytes written but not yet sent."""
        ...

    def flush_tx(self) -> None:
        """Drop written audio that has not been sent yet (barge-in)."""
        ...


class CallControl(Protocol):
    """What an audio handler may do to its call besides audio."""

    @property
    def id(self) -> str:
        """The engine's id of the call (the SIP Call-ID)."""
        ...

    async def hangup(self) -> None:
        """End the call (BYE, or CANCEL before answer)."""
        ...

    async def send_dtmf(self, digits: str) -> None:
        """Send RFC 2833 telephone events for ``digits`` (0-9, A-D, * and #)."""
        ...

    def on_dtmf(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(digit)`` for each digit the far end presses."""
        ...
