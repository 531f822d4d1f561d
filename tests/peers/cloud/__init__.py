"""Local stand-ins for the cloud STT/LLM/TTS services, each speaking its provider's documented wire protocol.

They run on 127.0.0.1 only (``with serve(server.app()) as base_url:``), answer with scripted text, tool calls,
transcripts and audio, check keys and required fields like the real services, and record every request.
With the default zero latency they double as zero-latency protocol servers for benchmarks.
"""

from tests.peers.cloud.common import RecordedRequest, serve, tone

__all__ = ["RecordedRequest", "serve", "tone"]
