"""Pytest fixtures for the SIP test peers; import them into a conftest (``from tests.peers.fixtures import *``)."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest

from .kamailio import KAMAILIO, Registrar
from .ports import free_udp_port
from .sipp import SIPP

__all__ = [
    "REGISTRAR_USERS",
    "needs_kamailio",
    "needs_pcap_play",
    "needs_sipp",
    "peer_stack",
    "registrar",
    "sip_port",
]

#: users of the :func:`registrar` fixture
REGISTRAR_USERS: dict[str, str] = {"alice": "alice-secret", "bob": "bob-secret", "trunkline": "trunk-pass"}

needs_sipp = pytest.mark.skipif(shutil.which(SIPP) is None, reason="sipp (Debian sip-tester) is not installed")
needs_kamailio = pytest.mark.skipif(shutil.which(KAMAILIO) is None, reason="kamailio is not installed")
#: sipp plays pcaps through a raw socket, which needs root (or CAP_NET_RAW)
needs_pcap_play = pytest.mark.skipif(os.geteuid() != 0, reason="sipp play_pcap_audio needs a raw socket (root)")


@pytest.fixture
def sip_port() -> int:
    """A UDP port on 127.0.0.1 that was free when the test started."""
    return free_udp_port()


@pytest.fixture
def peer_stack() -> Iterator[contextlib.ExitStack]:
    """An ExitStack for peers (``peer_stack.enter_context(uas(...))``): every peer is killed at teardown."""
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture
def registrar() -> Iterator[Registrar]:
    """A running kamailio registrar/proxy on a free 127.0.0.1 port with :data:`REGISTRAR_USERS`."""
    with Registrar(free_udp_port(), REGISTRAR_USERS) as instance:
        yield instance
