"""API keys and accounts: creation, listing, revocation, and the first account of a new node."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import NewKey, generate_key
from api.services.base import ScopedService
from models import Account, ApiKey, ApiKeyScope
from models.repositories import ApiKeyRepository


class ApiKeyService(ScopedService[ApiKey]):
    """API keys of one account."""

    repository_type = ApiKeyRepository
    noun = "API key"

    async def issue(self, name: str, scopes: list[ApiKeyScope]) -> tuple[ApiKey, NewKey]:
        """Create a key; the returned secret is the only copy."""
        new = generate_key()
        ordered = [s.value for s in ApiKeyScope if s in set(scopes)]
        key = await self.create(name=name, prefix=new.prefix, key_hash=new.key_hash, scopes=ordered)
        return key, new

    async def revoke(self, item: ApiKey) -> ApiKey:
        """Revoke a key at once; revoking twice keeps the first time."""
        if item.revoked_at is None:
            item.revoked_at = datetime.now(UTC)
            item = await self.save(item)
        return item

    async def by_prefix_or_id(self, ref: str) -> ApiKey | None:
        """Find a key of the account by its prefix or id."""
        stmt = select(ApiKey).where(ApiKey.account_id == self.account_id)
        try:
            return await self.session.scalar(stmt.where(ApiKey.id == UUID(ref)))
        except ValueError:
            return await self.session.scalar(stmt.where(ApiKey.prefix == ref))


async def create_account(session: AsyncSession, name: str) -> tuple[Account, NewKey]:
    """Create an account with an admin API key; commits."""
    account = Account(name=name)
    session.add(account)
    await session.flush()
    _, new = await ApiKeyService(session, account.id).issue("admin", [ApiKeyScope.ADMIN])
    await session.commit()
    return account, new


async def account_count(session: AsyncSession) -> int:
    """How many accounts exist."""
    return int(await session.scalar(select(func.count()).select_from(Account)) or 0)
