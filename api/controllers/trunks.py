"""``/api/trunks``: SIP trunks; passwords are write-only."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post

from api.pagination import Page, PageParams
from api.schemas.common import changes
from api.schemas.telephony import TrunkCreate, TrunkOut, TrunkUpdate
from api.services.trunks import TrunkService
from models import Trunk


def trunk_out(trunk: Trunk) -> TrunkOut:
    """A trunk as the API shows it: ``password_set`` instead of the password."""
    return TrunkOut(
        id=trunk.id,
        name=trunk.name,
        kind=trunk.kind,
        transport=trunk.transport,
        enabled=trunk.enabled,
        registrar=trunk.registrar,
        username=trunk.username,
        password_set=bool(trunk.password_encrypted),
        auth_user=trunk.auth_user,
        realm=trunk.realm,
        outbound_proxy=trunk.outbound_proxy,
        register_interval_s=trunk.register_interval_s,
        peer_host=trunk.peer_host,
        peer_port=trunk.peer_port,
        allowed_cidrs=list(trunk.allowed_cidrs),
        registration_state=trunk.registration_state,
        registered_at=trunk.registered_at,
        last_error=trunk.last_error,
        created_at=trunk.created_at,
        updated_at=trunk.updated_at,
    )


class TrunkController(Controller):
    """Trunks of the caller's account."""

    path = "/api/trunks"
    tags = ["telephony"]

    @get("/")
    async def list_trunks(self, trunks_service: TrunkService, page: PageParams) -> Page[TrunkOut]:
        """List trunks by name."""
        items, count = await trunks_service.page(page, order_by=(Trunk.name, False))
        return Page(items=[trunk_out(t) for t in items], count=count, limit=page.limit, offset=page.offset)

    @post("/")
    async def create_trunk(self, trunks_service: TrunkService, data: TrunkCreate) -> TrunkOut:
        """Create a trunk."""
        return trunk_out(await trunks_service.add(changes(data)))

    @get("/{trunk_id:uuid}")
    async def get_trunk(self, trunks_service: TrunkService, trunk_id: UUID) -> TrunkOut:
        """Read one trunk with its registration state and last error."""
        return trunk_out(await trunks_service.get(trunk_id))

    @patch("/{trunk_id:uuid}")
    async def update_trunk(self, trunks_service: TrunkService, trunk_id: UUID, data: TrunkUpdate) -> TrunkOut:
        """Change a trunk."""
        return trunk_out(await trunks_service.change(await trunks_service.get(trunk_id), changes(data)))

    @delete("/{trunk_id:uuid}")
    async def delete_trunk(self, trunks_service: TrunkService, trunk_id: UUID) -> None:
        """Delete a trunk without phone numbers."""
        await trunks_service.remove(await trunks_service.get(trunk_id))
