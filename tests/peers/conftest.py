"""Fixtures for the peer self-tests (the shared ones live in fixtures.py)."""

from .fixtures import peer_stack, registrar, sip_port

__all__ = ["peer_stack", "registrar", "sip_port"]
