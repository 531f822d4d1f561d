"""Provider-key bodies: the key is write-only; responses carry a hint of its last characters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

# Length and characters are checked by the service, so a bad key answers 422 naming ``api_key``.
ApiKeyText = Annotated[
    str,
    Meta(description="The provider's API key: 1-1024 printable ASCII characters, no spaces. Never returned."),
]


class ProviderKeyPut(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A provider's API key; replaces the account's current key for that provider."""

    api_key: ApiKeyText


class ProviderKeyOut(msgspec.Struct):
    """A stored provider key: its provider and the last characters of the key, never the key."""

    provider: str
    key_hint: str
    created_at: datetime
    updated_at: datetime
