"""Free loopback port helpers for test peers (everything binds to 127.0.0.1 only)."""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_udp_port() -> int:
    """Return a UDP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_tcp_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def free_sip_port() -> int:
    """Return a port free on 127.0.0.1 for both UDP and TCP (for peers that listen on both)."""
    for _ in range(200):
        port = free_udp_port()
        if _bindable(port, socket.SOCK_STREAM):
            return port
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def free_port_block(count: int = 4, *, even: bool = True) -> int:
    """Return the first of ``count`` consecutive free UDP ports on 127.0.0.1 (even-aligned by default)."""
    for _ in range(500):
        base = random.randrange(20000, 60000 - count)
        if even and base % 2:
            base += 1
        if all(_bindable(base + i, socket.SOCK_DGRAM) for i in range(count)):
            return base
    raise RuntimeError(f"no block of {count} free UDP ports on 127.0.0.1")


def free_port_pair() -> tuple[int, int]:
    """Return an even RTP port and its RTCP port (RTP + 1), both free on 127.0.0.1."""
    base = free_port_block(2)
    return base, base + 1


def free_media_port() -> int:
    """Return a sipp media port: sipp binds ``-mp`` (audio) and ``-mp + 2`` (video), so four ports are checked."""
    return free_port_block(4)


def udp_port_bound(port: int, host: str = LOOPBACK) -> bool:
    """Whether some process has bound UDP ``host:port`` (read from /proc/net/udp, so it never races a bind)."""
    table = Path("/proc/net/udp")
    if not table.exists():
        return not _bindable(port, socket.SOCK_DGRAM)
    wanted = f"{socket.htonl(int.from_bytes(socket.inet_aton(host), 'big')):08X}:{port:04X}"
    wildcard = f"00000000:{port:04X}"
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) > 1 and fields[1] in (wanted, wildcard):
            return True
    return False


def _bindable(port: int, kind: socket.SocketKind) -> bool:
    """Whether ``port`` can be bound on 127.0.0.1 right now for the given socket kind."""
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True
