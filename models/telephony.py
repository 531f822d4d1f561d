"""SIP trunks and the DIDs (phone numbers) they carry."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import AccountOwned, Base
from models.enums import PhoneNumberStatus, RegistrationState, TrunkKind, TrunkTransport, enum_column


class Trunk(AccountOwned, Base):
    """A SIP trunk: registered (REGISTER with digest credentials) or IP-authenticated (static peer)."""

    __table_args__ = (UniqueConstraint("account_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[TrunkKind] = mapped_column(enum_column(TrunkKind))
    transport: Mapped[TrunkTransport] = mapped_column(enum_column(TrunkTransport), default=TrunkTransport.UDP)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # registered trunks
    registrar: Mapped[str | None] = mapped_column(String(255), default=None)
    username: Mapped[str | None] = mapped_column(String(255), default=None)
    # Fernet token of the digest password; the plain password is never stored or returned.
    password_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    auth_user: Mapped[str | None] = mapped_column(String(255), default=None)
    realm: Mapped[str | None] = mapped_column(String(255), default=None)
    outbound_proxy: Mapped[str | None] = mapped_column(String(255), default=None)
    register_interval_s: Mapped[int] = mapped_column(Integer, default=600)
    # IP-authenticated trunks
    peer_host: Mapped[str | None] = mapped_column(String(255), default=None)
    peer_port: Mapped[int | None] = mapped_column(Integer, default=None)
    allowed_cidrs: Mapped[list[str]] = mapped_column(JsonB, default=list)
    # live state, written by the SIP engine
    registration_state: Mapped[RegistrationState] = mapped_column(
        enum_column(RegistrationState), default=RegistrationState.UNREGISTERED
    )
    registered_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class PhoneNumber(AccountOwned, Base):
    """A DID of a trunk: caller ID outbound, destination inbound; routes to at most one assistant."""

    # Inbound routing finds the assistant by the dialled number alone, so a DID is unique per node.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    trunk_id: Mapped[UUID] = mapped_column(ForeignKey("trunk.id", ondelete="RESTRICT"), index=True)
    assistant_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("assistant.id", ondelete="SET NULL"), default=None, index=True
    )
    status: Mapped[PhoneNumberStatus] = mapped_column(enum_column(PhoneNumberStatus), default=PhoneNumberStatus.ACTIVE)
