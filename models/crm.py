"""The CRM: companies, their contacts, and the custom fields contacts may carry."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from advanced_alchemy.types import JsonB
from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import AccountOwned, Base, postgres_only
from models.enums import CustomFieldType, LeadStatus, enum_column


class Company(AccountOwned, Base):
    """An organisation; every contact belongs to one."""

    __table_args__ = (UniqueConstraint("account_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500), default=None)
    industry: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)

    contacts: Mapped[list[Contact]] = relationship(back_populates="company", lazy="noload")


class Contact(AccountOwned, Base):
    """A person the assistants may call."""

    __table_args__ = (
        Index("ix_contact_account_phone", "account_id", "phone"),
        Index("ix_contact_account_company", "account_id", "company_id"),
        Index("ix_contact_account_last_name", "account_id", "last_name"),
        Index("ix_contact_account_email", "account_id", "email"),
        # Search and tag filters: `tags @> [...]`, name/email prefixes and phone digits anywhere.
        postgres_only(
            Index("ix_contact_tags_gin", "tags", postgresql_using="gin", postgresql_ops={"tags": "jsonb_path_ops"})
        ),
        postgres_only(
            Index("ix_contact_first_name_trgm", text("lower(first_name) gin_trgm_ops"), postgresql_using="gin")
        ),
        postgres_only(
            Index("ix_contact_last_name_trgm", text("lower(last_name) gin_trgm_ops"), postgresql_using="gin")
        ),
        postgres_only(Index("ix_contact_email_trgm", text("email gin_trgm_ops"), postgresql_using="gin")),
        postgres_only(Index("ix_contact_phone_trgm", text("phone gin_trgm_ops"), postgresql_using="gin")),
    )

    company_id: Mapped[UUID] = mapped_column(ForeignKey("company.id", ondelete="RESTRICT"))
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)
    job_title: Mapped[str | None] = mapped_column(String(200), default=None)
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    lead_status: Mapped[LeadStatus] = mapped_column(enum_column(LeadStatus), default=LeadStatus.NEW, index=True)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    tags: Mapped[list[str]] = mapped_column(JsonB, default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[str | None] = mapped_column(String(100), default=None)

    company: Mapped[Company] = relationship(back_populates="contacts", lazy="noload")


class CustomField(AccountOwned, Base):
    """A field the account adds to its contacts; the description guides post-call extraction."""

    __table_args__ = (UniqueConstraint("account_id", "key"),)

    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[CustomFieldType] = mapped_column(enum_column(CustomFieldType))
    options: Mapped[list[str]] = mapped_column(JsonB, default=list)
    description: Mapped[str | None] = mapped_column(Text, default=None)
