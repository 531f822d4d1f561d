"""Cloud provider API keys (LLM, TTS, STT), one per provider name and account, encrypted at rest."""

from __future__ import annotations

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import AccountOwned, Base


class ProviderKey(AccountOwned, Base):
    """An account's API key for one cloud provider (``openai``, ``deepgram`` …)."""

    __table_args__ = (UniqueConstraint("account_id", "provider"),)

    provider: Mapped[str] = mapped_column(String(50))
    # Fernet token of the key; the plain key is never stored or returned.
    key_encrypted: Mapped[str] = mapped_column(Text)
    # The key's last characters, shown as a hint ("…abcd"); empty for keys too short to reveal any.
    key_last4: Mapped[str] = mapped_column(String(4), default="")
