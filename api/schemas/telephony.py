"""Trunk and phone-number bodies; trunk passwords are write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import Name, PhoneText
from models import PhoneNumberStatus, RegistrationState, TrunkKind, TrunkTransport

Host = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^[^\s@/]+$")]
SipUri = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^[^\s]+$")]
Credential = Annotated[str, Meta(min_length=1, max_length=255)]
Password = Annotated[str, Meta(min_length=1, max_length=255)]
Cidr = Annotated[str, Meta(min_length=1, max_length=64)]
Port = Annotated[int, Meta(ge=1, le=65535)]
Interval = Annotated[int, Meta(ge=60, le=86_400)]


class TrunkCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A new trunk: ``registered`` needs registrar, username and password; ``ip`` needs peer_host and CIDRs."""

    name: Name
    kind: TrunkKind
    transport: TrunkTransport = TrunkTransport.UDP
    enabled: bool = True
    registrar: SipUri | None = None
    username: Credential | None = None
    password: Password | None = None
    auth_user: Credential | None = None
    realm: Credential | None = None
    outbound_proxy: SipUri | None = None
    register_interval_s: Interval = 600
    peer_host: Host | None = None
    peer_port: Port | None = None
    allowed_cidrs: Annotated[list[Cidr], Meta(max_length=100)] = msgspec.field(default_factory=list)


class TrunkUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changes to a trunk; a password is replaced only when one is sent."""

    name: Name | UnsetType = UNSET
    transport: TrunkTransport | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    registrar: SipUri | UnsetType | None = UNSET
    username: Credential | UnsetType | None = UNSET
    password: Password | UnsetType = UNSET
    auth_user: Credential | UnsetType | None = UNSET
    realm: Credential | UnsetType | None = UNSET
    outbound_proxy: SipUri | UnsetType | None = UNSET
    register_interval_s: Interval | UnsetType = UNSET
    peer_host: Host | UnsetType | None = UNSET
    peer_port: Port | UnsetType | None = UNSET
    allowed_cidrs: Annotated[list[Cidr], Meta(max_length=100)] | UnsetType = UNSET


class TrunkOut(msgspec.Struct):
    """A trunk with its live registration state; the password is never returned."""

    id: UUID
    name: str
    kind: TrunkKind
    transport: TrunkTransport
    enabled: bool
    registrar: str | None
    username: str | None
    password_set: bool
    auth_user: str | None
    realm: str | None
    outbound_proxy: str | None
    register_interval_s: int
    peer_host: str | None
    peer_port: int | None
    allowed_cidrs: list[str]
    registration_state: RegistrationState
    registered_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class PhoneNumberCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A DID of one of the account's trunks."""

    number: PhoneText
    trunk_id: UUID
    assistant_id: UUID | None = None
    label: Name | None = None
    status: PhoneNumberStatus = PhoneNumberStatus.ACTIVE


class PhoneNumberUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changes to a phone number; ``assistant_id: null`` unassigns it."""

    trunk_id: UUID | UnsetType = UNSET
    assistant_id: UUID | UnsetType | None = UNSET
    label: Name | UnsetType | None = UNSET
    status: PhoneNumberStatus | UnsetType = UNSET


class PhoneNumberOut(msgspec.Struct):
    """A phone number and where it routes."""

    id: UUID
    number: str
    trunk_id: UUID
    assistant_id: UUID | None
    label: str | None
    status: PhoneNumberStatus
    created_at: datetime
    updated_at: datetime
