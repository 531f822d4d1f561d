"""Audio handlers: what runs a call's conversation on top of a MediaSession."""

from media.handlers.base import AudioHandler, HandlerFactory
from media.handlers.echo import EchoHandler
from media.handlers.playback import PlaybackHandler

__all__ = ["AudioHandler", "EchoHandler", "HandlerFactory", "PlaybackHandler"]
