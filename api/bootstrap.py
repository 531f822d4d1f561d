"""First start of a node: an empty database gets its first account and an admin API key."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.secrets_box import write_private_file
from api.services.api_keys import account_count, create_account

ADMIN_KEY_FILE = "admin-api-key"
FIRST_ACCOUNT_NAME = "Default account"


async def ensure_first_account(sessions: async_sessionmaker[AsyncSession], data_dir: Path) -> str | None:
    """Create the first account when there is none; returns its admin key (also written 0600) or None."""
    async with sessions() as session:
        if await account_count(session):
            return None
        _, key = await create_account(session, FIRST_ACCOUNT_NAME)
    write_private_file(data_dir / ADMIN_KEY_FILE, key.secret + "\n")
    return key.secret
