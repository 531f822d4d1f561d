"""``/api/api-keys``: admin-only key management; secrets are shown once."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, post

from api.auth import SCOPE_OPT
from api.pagination import Page, PageParams
from api.schemas.api_keys import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from api.schemas.common import to_out
from api.services.api_keys import ApiKeyService
from models import ApiKeyScope


class ApiKeyController(Controller):
    """API keys of the caller's account."""

    path = "/api/api-keys"
    tags = ["api-keys"]
    opt = {SCOPE_OPT: ApiKeyScope.ADMIN}

    @get("/")
    async def list_api_keys(self, api_keys_service: ApiKeyService, page: PageParams) -> Page[ApiKeyOut]:
        """List keys by prefix and name; secrets are never listed."""
        items, count = await api_keys_service.page(page)
        return Page(items=[to_out(k, ApiKeyOut) for k in items], count=count, limit=page.limit, offset=page.offset)

    @post("/")
    async def create_api_key(self, api_keys_service: ApiKeyService, data: ApiKeyCreate) -> ApiKeyCreated:
        """Create a key; the response's ``key`` is the only time the secret is shown."""
        key, new = await api_keys_service.issue(data.name, data.scopes)
        created = to_out(key, ApiKeyCreated)
        created.key = new.secret
        return created

    @delete("/{key_id:uuid}")
    async def revoke_api_key(self, api_keys_service: ApiKeyService, key_id: UUID) -> None:
        """Revoke a key; requests with it fail from now on."""
        await api_keys_service.revoke(await api_keys_service.get(key_id))
