"""``/api/provider-keys``: the account's cloud provider API keys; keys are write-only."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, put
from litestar.params import Parameter

from api.schemas.provider_keys import ProviderKeyOut, ProviderKeyPut
from api.services.provider_keys import KEYED_PROVIDERS, ProviderKeyService, key_hint
from models import ProviderKey

ProviderName = Annotated[
    str, Parameter(description=f"A cloud provider: {', '.join(KEYED_PROVIDERS)}. Local providers need no key.")
]


def provider_key_out(item: ProviderKey) -> ProviderKeyOut:
    """A provider key as the API shows it: ``key_hint`` instead of the key."""
    return ProviderKeyOut(
        provider=item.provider, key_hint=key_hint(item), created_at=item.created_at, updated_at=item.updated_at
    )


class ProviderKeyController(Controller):
    """Provider keys of the caller's account, one per provider name."""

    path = "/api/provider-keys"
    tags = ["provider-keys"]

    @get("/")
    async def list_provider_keys(self, provider_keys_service: ProviderKeyService) -> list[ProviderKeyOut]:
        """List the stored keys by provider name (at most one per provider); keys are never listed."""
        return [provider_key_out(k) for k in await provider_keys_service.all()]

    @put("/{provider:str}")
    async def put_provider_key(
        self, provider_keys_service: ProviderKeyService, provider: ProviderName, data: ProviderKeyPut
    ) -> ProviderKeyOut:
        """Store the key for a provider, replacing the current one; the key is never returned."""
        return provider_key_out(await provider_keys_service.put(provider, data.api_key))

    @delete("/{provider:str}")
    async def delete_provider_key(self, provider_keys_service: ProviderKeyService, provider: ProviderName) -> None:
        """Delete the key of a provider."""
        await provider_keys_service.remove(provider)
