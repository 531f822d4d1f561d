"""Where outbound HTTP requests may go: public addresses, plus the private networks the configuration allows.

Webhook endpoints (and the agents' webhook tools) are URLs a tenant chooses; without this check they would
reach the node's own services, the cloud metadata address (169.254.169.254) or the LAN. The URL's host is
resolved and every address it resolves to must be public or inside ``outbound.allowed_networks``. The
check runs when a URL is saved and again before every request, since DNS answers change.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
RESOLVE_TIMEOUT_S = 3.0


class RefusedUrl(ValueError):
    """The URL is malformed or reaches an address outbound requests may not reach; the message says which."""


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses are allowed; others only inside ``allowed`` networks."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[str]) -> AddressPolicy:
        """A policy from configured networks ("127.0.0.1", "10.0.0.0/8")."""
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    def permits(self, address: IPAddress) -> bool:
        """Whether a request may reach ``address``."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        if any(address in network for network in self.allowed):
            return True
        return address.is_global and not address.is_multicast


def parse_url(url: str) -> httpx.URL:
    """The URL when it is an absolute http(s) URL with a host and no credentials; RefusedUrl otherwise."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise RefusedUrl(f"not a valid URL ({exc})") from None
    if parsed.scheme not in ("http", "https"):
        raise RefusedUrl("must be an http:// or https:// URL")
    if not parsed.host:
        raise RefusedUrl("must name a host")
    if parsed.userinfo:
        raise RefusedUrl("must not carry a user name or password")
    return parsed


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=RESOLVE_TIMEOUT_S)
    except (OSError, TimeoutError, UnicodeError) as exc:
        raise RefusedUrl(f"host {host} does not resolve ({exc or 'timed out'})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_url(url: str, policy: AddressPolicy) -> httpx.URL:
    """The parsed URL when every address its host resolves to is permitted; RefusedUrl naming the address otherwise."""
    parsed = parse_url(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = await resolve(parsed.host, port)
    for address in addresses:
        if not policy.permits(address):
            raise RefusedUrl(
                f"{parsed.host} is {address}, a private, loopback or link-local address; "
                "allow it in outbound.allowed_networks to reach it"
            )
    return parsed
