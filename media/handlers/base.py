"""The contract between the telephony side and whatever talks to the caller."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from media.session import MediaSession
from sip_engine.interfaces import CallControl

__all__ = ["AudioHandler", "CallControl", "HandlerFactory"]  # CallControl: handlers see calls through media only


class AudioHandler(ABC):
    """One call's conversation logic, fed 16 kHz frames by a MediaSession."""

    @abstractmethod
    async def run(self, media: MediaSession, call: CallControl) -> None:
        """The plug-in point where the conversation engine will plug in; returns when the handler is done with the call.

        Implementations must keep iterating ``media.frames()`` while the call lasts: that loop is what paces
        the audio they play and feeds the recording.
        """


HandlerFactory = Callable[[], AudioHandler]
"""Makes a fresh handler for each call, so handlers may keep per-call state."""
