"""API-key bodies: the secret is returned once, at creation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from api.schemas.common import Name
from models import ApiKeyScope


class ApiKeyCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new API key."""

    name: Name
    scopes: Annotated[list[ApiKeyScope], Meta(min_length=1, max_length=3)] = msgspec.field(
        default_factory=lambda: [ApiKeyScope.READ, ApiKeyScope.WRITE]
    )


class ApiKeyOut(msgspec.Struct):
    """An API key as listed: its prefix, never its secret."""

    id: UUID
    name: str
    prefix: str
    scopes: list[ApiKeyScope]
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    """A key just created; ``key`` is shown this once and cannot be read again."""

    key: str = ""
