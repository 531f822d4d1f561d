"""In-process stand-ins for a call's audio port and controls, for tests of what runs on top of them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sip_engine.interfaces import AudioFormat

TICK_S = 0.02


class LoopbackPort:
    """An in-memory AudioPort at a chosen codec rate that "sends" its tx buffer in real time, 20 ms per tick.

    Every tick it moves one packet's worth from the tx buffer to ``sent`` (zero-filled when the buffer is short,
    as an RTP sender would send silence) and delivers one packet of audio given to ``feed()`` to the receive
    side; ``inject()`` makes audio readable at once.
    """

    def __init__(self, rate: int = 8000, media_up: bool = True) -> None:
        """Create a port; call start() from inside the event loop."""
        self.rate = rate
        self.packet_bytes = rate // 50 * 2
        self._format = AudioFormat(rate=rate, channels=1) if media_up else None
        self._closed = False
        self._rx = bytearray()
        self._feed = bytearray()
        self._tx = bytearray()
        self.sent = bytearray()
        self.tx_levels: list[int] = []
        self.max_tx = 0
        self._task: asyncio.Task[None] | None = None

    # AudioPort
    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closed

    def format(self) -> AudioFormat | None:
        """The fixed format, or None while media is "down"."""
        return self._format

    def read(self, max_bytes: int) -> bytes:
        """Take up to max_bytes of received audio."""
        data = bytes(self._rx[:max_bytes])
        del self._rx[:max_bytes]
        return data

    def write(self, pcm: bytes) -> int:
        """Queue audio for the real-time sender."""
        if self._closed or self._format is None:
            return 0
        self._tx += pcm
        self.max_tx = max(self.max_tx, len(self._tx))
        return len(pcm)

    def tx_buffered(self) -> int:
        """Bytes written but not yet sent."""
        return len(self._tx)

    def flush_tx(self) -> None:
        """Drop unsent audio."""
        self._tx.clear()

    # test controls
    def start(self) -> None:
        """Start the real-time sender/receiver task."""
        self._task = asyncio.create_task(self._run())

    def set_media_up(self) -> None:
        """Make the format known."""
        self._format = AudioFormat(rate=self.rate, channels=1)

    def feed(self, pcm: bytes) -> None:
        """Deliver ``pcm`` to the receive side in real time, one packet per tick."""
        self._feed += pcm

    def inject(self, pcm: bytes) -> None:
        """Make ``pcm`` readable immediately."""
        self._rx += pcm

    async def close(self) -> None:
        """End the "call" and stop the background task."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])

    async def _run(self) -> None:
        """Drain tx and deliver fed rx on an absolute 20 ms schedule, like an RTP clock."""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        n = 0
        while not self._closed:
            n += 1
            await asyncio.sleep(max(0.0, t0 + n * TICK_S - loop.time()))
            self.tx_levels.append(len(self._tx))
            packet = bytes(self._tx[: self.packet_bytes])
            del self._tx[: self.packet_bytes]
            self.sent += packet + bytes(self.packet_bytes - len(packet))
            if self._feed:
                self._rx += self._feed[: self.packet_bytes]
                del self._feed[: self.packet_bytes]


class FakeCall:
    """A CallControl whose hangup closes the loopback port."""

    def __init__(self, port: LoopbackPort) -> None:
        """Bind to ``port``."""
        self.port = port
        self.hung_up = False

    @property
    def id(self) -> str:
        """A fixed call id."""
        return "test-call"

    async def hangup(self) -> None:
        """Record the hangup and end the call's media."""
        self.hung_up = True
        await self.port.close()

    async def send_dtmf(self, digits: str) -> None:
        """Not used here."""

    def on_dtmf(self, callback: Callable[[str], None]) -> None:
        """Not used here."""
