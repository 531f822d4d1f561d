"""Inbound routing: which DID answers with which assistant, read from the tables into memory.

The SIP engine screens INVITEs on its own thread and cannot wait for a database, so the routes are a
snapshot that the node refreshes whenever trunks, numbers or assistants change (and periodically, for
edits made through another node).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Assistant, PhoneNumber, PhoneNumberStatus, Trunk, TrunkKind
from sip_engine.screening import InboundOffer, Refusal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

NOT_FOUND = Refusal(404, "Not Found")
FORBIDDEN = Refusal(403, "Forbidden")
UNAVAILABLE = Refusal(480, "Temporarily Unavailable")


@dataclass(frozen=True)
class InboundRoute:
    """Everything an admitted inbound call needs to find its account, number, trunk and assistant."""

    account_id: UUID
    phone_number_id: UUID
    number: str
    trunk_id: UUID
    assistant_id: UUID | None
    inbound_enabled: bool
    trunk_is_ip: bool
    allowed: tuple[Network, ...]


def allowed_networks(trunk: Trunk) -> tuple[Network, ...]:
    """The source networks an IP trunk accepts: its CIDRs, else its peer host's addresses."""
    networks: list[Network] = []
    for cidr in trunk.allowed_cidrs or []:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    if not networks and trunk.peer_host:
        try:
            infos = socket.getaddrinfo(trunk.peer_host, None)
        except OSError:
            infos = []
        for info in infos:
            networks.append(ipaddress.ip_network(str(info[4][0])))
    return tuple(networks)


class RoutingTable:
    """DID → route, swapped atomically on refresh; ``screen`` runs on the SIP thread."""

    def __init__(self) -> None:
        self._routes: dict[str, InboundRoute] = {}

    async def load(self, session: AsyncSession) -> None:
        """Rebuild the table from the database."""
        rows = await session.execute(
            select(PhoneNumber, Trunk, Assistant)
            .join(Trunk, Trunk.id == PhoneNumber.trunk_id)
            .outerjoin(Assistant, Assistant.id == PhoneNumber.assistant_id)
            .where(PhoneNumber.status == PhoneNumberStatus.ACTIVE, Trunk.enabled.is_(True))
        )
        routes: dict[str, InboundRoute] = {}
        for number, trunk, assistant in rows.tuples():
            # A peer host may need a DNS lookup: never on the event loop that paces call audio.
            allowed = await asyncio.to_thread(allowed_networks, trunk) if trunk.kind == TrunkKind.IP else ()
            routes[number.number] = InboundRoute(
                account_id=number.account_id,
                phone_number_id=number.id,
                number=number.number,
                trunk_id=trunk.id,
                assistant_id=assistant.id if assistant else None,
                inbound_enabled=bool(assistant and assistant.inbound_enabled),
                trunk_is_ip=trunk.kind == TrunkKind.IP,
                allowed=allowed,
            )
        self._routes = routes

    def lookup(self, dialled: str) -> InboundRoute | None:
        """The route of a dialled number, written with or without its leading +."""
        digits = dialled.strip()
        return self._routes.get(digits) or (self._routes.get("+" + digits) if not digits.startswith("+") else None)

    def screen(self, offer: InboundOffer) -> Refusal | InboundRoute:
        """404 for an unknown DID, 403 for a source an IP trunk does not allow, 480 without an inbound assistant."""
        route = self.lookup(offer.dialled)
        if route is None:
            return NOT_FOUND
        if route.trunk_is_ip and not _source_allowed(offer.source_ip, route.allowed):
            return FORBIDDEN
        if route.assistant_id is None or not route.inbound_enabled:
            return UNAVAILABLE
        return route


def _source_allowed(source_ip: str, allowed: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        return False
    return any(address in network for network in allowed)
