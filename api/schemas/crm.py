"""CRM bodies: companies, contacts, custom fields, CSV import reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from api.schemas.common import LongText, Name, PhoneText, ShortText, Tag
from models import CustomFieldType, LeadStatus

FieldKey = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="lower_snake_case key")]
Email = Annotated[str, Meta(max_length=320)]
TimezoneName = Annotated[str, Meta(max_length=64, description="IANA timezone, e.g. America/New_York")]


class CompanyCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new company."""

    name: Name
    website: ShortText | None = None
    industry: ShortText | None = None
    phone: PhoneText | None = None
    notes: LongText | None = None


class CompanyUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a company; omitted fields stay as they are."""

    name: Name | UnsetType = UNSET
    website: ShortText | UnsetType | None = UNSET
    industry: ShortText | UnsetType | None = UNSET
    phone: PhoneText | UnsetType | None = UNSET
    notes: LongText | UnsetType | None = UNSET


class CompanyOut(msgspec.Struct):
    """A company."""

    id: UUID
    name: str
    website: str | None
    industry: str | None
    phone: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


class ContactCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new contact; ``company_id`` is required because every contact belongs to a company."""

    company_id: UUID
    first_name: Annotated[str, Meta(max_length=100)] = ""
    last_name: Annotated[str, Meta(max_length=100)] = ""
    email: Email | None = None
    phone: PhoneText | None = None
    job_title: ShortText | None = None
    timezone: TimezoneName | None = None
    lead_status: LeadStatus = LeadStatus.NEW
    do_not_call: bool = False
    tags: Annotated[list[Tag], Meta(max_length=50)] = msgspec.field(default_factory=list)
    custom_fields: dict[str, Any] = msgspec.field(default_factory=dict)
    notes: LongText | None = None
    source: Annotated[str, Meta(max_length=100)] | None = None


class ContactUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a contact; ``custom_fields`` merges, a null value removes that field."""

    company_id: UUID | UnsetType = UNSET
    first_name: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    last_name: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    phone: PhoneText | UnsetType | None = UNSET
    job_title: ShortText | UnsetType | None = UNSET
    timezone: TimezoneName | UnsetType | None = UNSET
    lead_status: LeadStatus | UnsetType = UNSET
    do_not_call: bool | UnsetType = UNSET
    tags: Annotated[list[Tag], Meta(max_length=50)] | UnsetType = UNSET
    custom_fields: dict[str, Any] | UnsetType = UNSET
    notes: LongText | UnsetType | None = UNSET
    source: Annotated[str, Meta(max_length=100)] | UnsetType | None = UNSET


class ContactOut(msgspec.Struct):
    """A contact."""

    id: UUID
    company_id: UUID
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    job_title: str | None
    timezone: str | None
    lead_status: LeadStatus
    do_not_call: bool
    tags: list[str]
    custom_fields: dict[str, Any]
    notes: str | None
    source: str | None
    created_at: datetime
    updated_at: datetime


class CustomFieldCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A new custom field for contacts."""

    key: FieldKey
    label: Name
    type: CustomFieldType
    options: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=100)] = msgspec.field(
        default_factory=list
    )
    description: LongText | None = None


class CustomFieldUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a custom field; its key and type are fixed once created."""

    label: Name | UnsetType = UNSET
    options: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=100)] | UnsetType = (
        UNSET
    )
    description: LongText | UnsetType | None = UNSET


class CustomFieldOut(msgspec.Struct):
    """A custom field definition."""

    id: UUID
    key: str
    label: str
    type: CustomFieldType
    options: list[str]
    description: str | None
    created_at: datetime
    updated_at: datetime


class RowError(msgspec.Struct):
    """Why one CSV row was not imported."""

    row: int
    field: str
    message: str


class ImportReport(msgspec.Struct):
    """The outcome of a CSV import: good rows are imported, bad rows are named with their field."""

    imported: int
    rejected: int
    errors: list[RowError]
    errors_truncated: bool = False
