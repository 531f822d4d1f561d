"""API-key authentication (Bearer) and scope checks; every request carries the key's account."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import Forbidden
from models import ApiKey, ApiKeyScope

KEY_PREFIX = "tlk_"
PREFIX_HEX = 8
# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# A route opts into a stricter scope with opt={"scope": ApiKeyScope.ADMIN}.
SCOPE_OPT = "scope"
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IMPLIED: dict[ApiKeyScope, frozenset[ApiKeyScope]] = {
    ApiKeyScope.READ: frozenset({ApiKeyScope.READ}),
    ApiKeyScope.WRITE: frozenset({ApiKeyScope.READ, ApiKeyScope.WRITE}),
    ApiKeyScope.ADMIN: frozenset(ApiKeyScope),
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key of an account, with what it may do."""

    account_id: UUID
    key_id: UUID
    prefix: str
    scopes: frozenset[ApiKeyScope]

    def allows(self, needed: ApiKeyScope) -> bool:
        """Whether the key's scopes include (or imply) ``needed``."""
        return any(needed in _IMPLIED[s] for s in self.scopes)


@dataclass(frozen=True)
class NewKey:
    """A freshly generated key: the full secret is shown once, only prefix and hash are kept."""

    secret: str
    prefix: str
    key_hash: str


def hash_key(secret: str) -> str:
    """SHA-256 of a key; keys carry 192 random bits, so a slow hash adds nothing."""
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key() -> NewKey:
    """Make a new API key ``tlk_<prefix>_<secret>``."""
    prefix = KEY_PREFIX + secrets.token_hex(PREFIX_HEX // 2)
    secret = f"{prefix}_{secrets.token_urlsafe(24)}"
    return NewKey(secret=secret, prefix=prefix, key_hash=hash_key(secret))


def prefix_of(secret: str) -> str | None:
    """The lookup prefix of a presented key, or None when it is not shaped like one."""
    size = len(KEY_PREFIX) + PREFIX_HEX
    if not secret.startswith(KEY_PREFIX) or len(secret) <= size + 1 or secret[size] != "_":
        return None
    return secret[:size]


async def authenticate_key(session: AsyncSession, secret: str, now: datetime | None = None) -> Principal | None:
    """Find the live key matching ``secret`` and note its use; None when unknown or revoked."""
    prefix = prefix_of(secret)
    if prefix is None:
        return None
    key = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, hash_key(secret)):
        return None
    now = now or datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        await session.commit()
    return Principal(
        account_id=key.account_id,
        key_id=key.id,
        prefix=key.prefix,
        scopes=frozenset(ApiKeyScope(s) for s in key.scopes),
    )


class ApiKeyAuthMiddleware(AbstractAuthenticationMiddleware):
    """Reads ``Authorization: Bearer <key>`` and attaches the Principal as ``request.user``."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        """Authenticate one request or raise 401."""
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(
                "missing API key: send 'Authorization: Bearer <key>'", headers={"WWW-Authenticate": "Bearer"}
            )
        sessions: async_sessionmaker[AsyncSession] = connection.app.state.sessionmaker
        async with sessions() as session:
            principal = await authenticate_key(session, token.strip())
        if principal is None:
            raise NotAuthorizedException("invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        return AuthenticationResult(user=principal, auth=principal.prefix)


def scope_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Reads need ``read``, changes need ``write``, routes marked admin need ``admin``."""
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        return  # route excluded from authentication
    needed = handler.opt.get(SCOPE_OPT)
    if needed is None:
        needed = ApiKeyScope.READ if connection.scope.get("method") in _READ_METHODS else ApiKeyScope.WRITE
    if not principal.allows(ApiKeyScope(needed)):
        raise Forbidden(f"this API key lacks the '{needed}' scope")
