"""CRM contacts: validation rules, filters and search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID
from zoneinfo import available_timezones

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import FieldError, Invalid
from api.services.base import ScopedService
from api.services.custom_fields import CustomFieldService, coerce_custom_values
from models import Company, Contact, CustomField, LeadStatus
from models.phone import InvalidPhoneNumber, parse_phone, timezone_of
from models.repositories import ContactRepository

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIMEZONES = frozenset(available_timezones())
MAX_TAGS = 50


@dataclass(frozen=True)
class ContactFilters:
    """What a contact list or export is narrowed to."""

    company_id: UUID | None = None
    lead_status: LeadStatus | None = None
    do_not_call: bool | None = None
    tag: str | None = None
    q: str | None = None


class ContactRules:
    """The rules every contact write obeys, whether it comes from JSON or a CSV row."""

    def __init__(self, definitions: dict[str, CustomField], default_region: str) -> None:
        self.definitions = definitions
        self.default_region = default_region

    def clean(self, values: dict[str, Any], current: Contact | None = None) -> tuple[dict[str, Any], list[FieldError]]:
        """Normalised values and the problems found, one per field."""
        errors: list[FieldError] = []
        out = dict(values)
        for name in ("first_name", "last_name"):
            if isinstance(out.get(name), str):
                out[name] = out[name].strip()
        phone_zone: str | None = None
        if out.get("phone"):
            try:
                out["phone"], phone_zone = parse_phone(out["phone"], self.default_region)
            except InvalidPhoneNumber as exc:
                errors.append(FieldError(field="phone", message=str(exc)))
        elif "phone" in out:
            out["phone"] = None
        if out.get("email"):
            out["email"] = out["email"].strip().lower()
            if not EMAIL.match(out["email"]):
                errors.append(FieldError(field="email", message=f"'{values['email']}' is not an email address"))
        elif "email" in out:
            out["email"] = None
        if out.get("timezone"):
            if out["timezone"] not in TIMEZONES:
                errors.append(FieldError(field="timezone", message=f"'{out['timezone']}' is not an IANA timezone"))
        elif "timezone" in out:
            out["timezone"] = None
        if "tags" in out:
            tags = list(dict.fromkeys(t.strip() for t in out["tags"] if t and t.strip()))
            if len(tags) > MAX_TAGS:
                errors.append(FieldError(field="tags", message=f"at most {MAX_TAGS} tags"))
            out["tags"] = tags
        if "custom_fields" in out:
            clean, problems = coerce_custom_values(self.definitions, out["custom_fields"])
            errors.extend(problems)
            merged = dict(current.custom_fields) if current is not None else {}
            merged.update(clean)
            out["custom_fields"] = {k: v for k, v in merged.items() if v is not None}
        # A contact marked DNC must never be dialled, whichever of the two fields said so.
        if out.get("lead_status") == LeadStatus.DNC:
            out["do_not_call"] = True
        phone = out.get("phone", current.phone if current else None)
        if not out.get("timezone") and (current is None or not current.timezone) and phone and not errors:
            # A phone parsed just above already told its zone (None when it spans several).
            out["timezone"] = phone_zone if "phone" in out else timezone_of(phone)
        if current is None and not (out.get("first_name") or out.get("last_name") or out.get("email") or phone):
            errors.append(FieldError(field="phone", message="a contact needs a name, an email or a phone"))
        return out, errors


def json_array_contains(session: AsyncSession, column: Any, value: str) -> ColumnElement[bool]:
    """``value`` is an element of the JSON array in ``column``, in the dialect at hand."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return column.op("@>")(func.jsonb_build_array(cast(literal(value), String)))
    each = func.json_each(column).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == value))


def search_clause(q: str) -> ColumnElement[bool]:
    """Match a name, email or phone: prefixes of words, digits anywhere in the phone."""
    q = q.strip()
    digits = re.sub(r"\D", "", q)
    if digits and re.fullmatch(r"[\d\s()+.\-]+", q):
        return Contact.phone.contains(digits, autoescape=True)
    like = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    terms = [
        func.lower(Contact.first_name).like(like, escape="\\"),
        func.lower(Contact.last_name).like(like, escape="\\"),
        Contact.email.like(like, escape="\\"),
    ]
    first, _, last = q.lower().partition(" ")
    if last:
        terms.append(and_(func.lower(Contact.first_name) == first, func.lower(Contact.last_name).like(last + "%")))
    return or_(*terms)


class ContactService(ScopedService[Contact]):
    """Contacts of one account."""

    repository_type = ContactRepository
    noun = "contact"

    def __init__(self, session: AsyncSession, account_id: UUID, default_region: str = "US") -> None:
        super().__init__(session, account_id)
        self.default_region = default_region

    async def rules(self) -> ContactRules:
        """The validation rules with this account's custom fields."""
        return ContactRules(await CustomFieldService(self.session, self.account_id).definitions(), self.default_region)

    def where(self, filters: ContactFilters) -> list[ColumnElement[bool]]:
        """SQL conditions for the filters."""
        clauses: list[ColumnElement[bool]] = []
        if filters.company_id is not None:
            clauses.append(Contact.company_id == filters.company_id)
        if filters.lead_status is not None:
            clauses.append(Contact.lead_status == filters.lead_status)
        if filters.do_not_call is not None:
            clauses.append(Contact.do_not_call.is_(filters.do_not_call))
        if filters.tag:
            clauses.append(json_array_contains(self.session, Contact.tags, filters.tag))
        if filters.q and filters.q.strip():
            clauses.append(search_clause(filters.q))
        return clauses or [true()]

    async def add(self, values: dict[str, Any]) -> Contact:
        """Create a contact after validating every field."""
        await self.require_owned(Company, values["company_id"], "company_id")
        clean, errors = (await self.rules()).clean(values)
        if errors:
            raise Invalid.of(errors)
        return await self.create(**clean)

    async def change(self, item: Contact, values: dict[str, Any]) -> Contact:
        """Update a contact after validating the changed fields."""
        if "company_id" in values:
            await self.require_owned(Company, values["company_id"], "company_id")
        clean, errors = (await self.rules()).clean(values, current=item)
        if errors:
            raise Invalid.of(errors)
        for name, value in clean.items():
            setattr(item, name, value)
        return await self.save(item)
