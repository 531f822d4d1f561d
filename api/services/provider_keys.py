"""Cloud provider API keys of an account: validated, encrypted at rest, never returned or logged."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agents.catalogue import LLM_PROVIDERS, STT_PROVIDERS, TTS_PROVIDERS
from api.errors import Invalid, NotFound
from api.secrets_box import SecretBox
from api.services.base import ScopedService
from models import ProviderKey
from models.repositories import ProviderKeyRepository

log = logging.getLogger("trunkline.provider_keys")

_CATALOGUES = (LLM_PROVIDERS, TTS_PROVIDERS, STT_PROVIDERS)
# Every cloud provider of the catalogue takes a key; ``openai`` is one key for its LLM, TTS and STT.
KEYED_PROVIDERS: tuple[str, ...] = tuple(
    sorted({name for catalogue in _CATALOGUES for name, info in catalogue.items() if not info.runs_locally})
)
LOCAL_PROVIDERS: tuple[str, ...] = tuple(
    sorted({name for catalogue in _CATALOGUES for name, info in catalogue.items() if info.runs_locally})
)
MAX_KEY_LENGTH = 1024
# The hint shows the last 4 characters only of keys long enough that 4 characters reveal little.
HINT_MIN_KEY_LENGTH = 16
HINT_CHARS = 4


def key_hint(item: ProviderKey) -> str:
    """How a stored key is shown: ``…`` and its last characters."""
    return "…" + item.key_last4


def check_provider(provider: str) -> str:
    """The provider name when it takes a key; 422 naming ``provider`` otherwise."""
    if provider in KEYED_PROVIDERS:
        return provider
    valid = ", ".join(KEYED_PROVIDERS)
    if provider in LOCAL_PROVIDERS:
        raise Invalid(
            f"provider: '{provider}' runs locally and needs no key; keys are stored for {valid}", field="provider"
        )
    shown = provider if len(provider) <= 50 else provider[:50] + "…"
    raise Invalid(f"provider: unknown provider '{shown}'; expected one of {valid}", field="provider")


def check_key(api_key: str) -> str:
    """The key when it looks like one; 422 naming ``api_key`` (without echoing the key) otherwise."""
    if not api_key:
        raise Invalid("api_key: must not be empty", field="api_key")
    if len(api_key) > MAX_KEY_LENGTH:
        raise Invalid(f"api_key: longer than {MAX_KEY_LENGTH} characters", field="api_key")
    if not all("!" <= ch <= "~" for ch in api_key):
        # spaces, line breaks and control characters are paste accidents, and would break the HTTP header
        raise Invalid(
            "api_key: must be printable ASCII without spaces or line breaks (check for a stray space or newline)",
            field="api_key",
        )
    return api_key


class ProviderKeyService(ScopedService[ProviderKey]):
    """Provider keys of one account, addressed by provider name."""

    repository_type = ProviderKeyRepository
    noun = "provider key"

    def __init__(self, session: AsyncSession, account_id: UUID, secrets: SecretBox) -> None:
        super().__init__(session, account_id)
        self.secrets = secrets

    async def all(self) -> Sequence[ProviderKey]:
        """The account's keys, by provider name."""
        return await self.repository.get_many(order_by=(ProviderKey.provider, False))

    async def find(self, provider: str) -> ProviderKey | None:
        """The account's key for ``provider``, if one is stored."""
        return await self.repository.get_one_or_none(ProviderKey.provider == provider)

    async def put(self, provider: str, api_key: str) -> ProviderKey:
        """Store ``api_key`` for ``provider``, replacing the account's current key for it."""
        provider = check_provider(provider)
        api_key = check_key(api_key)
        values = {
            "key_encrypted": self.secrets.encrypt(api_key),
            "key_last4": api_key[-HINT_CHARS:] if len(api_key) >= HINT_MIN_KEY_LENGTH else "",
        }
        current = await self.find(provider)
        if current is None:
            return await self.create(provider=provider, **values)
        for name, value in values.items():
            setattr(current, name, value)
        return await self.save(current)

    async def remove(self, provider: str) -> None:
        """Delete the account's key for ``provider``; 404 when there is none."""
        # Looked up before the name is checked, so a key of a provider since dropped from the catalogue
        # can still be deleted; a name that can never have a key answers 422 rather than 404.
        current = await self.find(provider)
        if current is None:
            check_provider(provider)
            raise NotFound(f"no key stored for provider '{provider}'")
        await self.delete(current.id)


async def provider_keys_for(session: AsyncSession, account_id: UUID, secrets: SecretBox) -> dict[str, str]:
    """The account's decrypted provider keys by provider name, for the conversation engine.

    A key that cannot be decrypted (the node's ``secret_key`` changed) is left out and logged by its
    provider name; neither the key nor its token is ever logged.
    """
    rows = await session.execute(
        select(ProviderKey.provider, ProviderKey.key_encrypted).where(ProviderKey.account_id == account_id)
    )
    keys: dict[str, str] = {}
    for provider, token in rows:
        try:
            keys[provider] = secrets.decrypt(token)
        except ValueError:
            log.error(
                "provider key for '%s' of account %s cannot be decrypted with this node's secret_key; left out",
                provider,
                account_id,
            )
    return keys
