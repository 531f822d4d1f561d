"""Call records: filters and the transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, select, true

from api.errors import FieldError, Invalid
from api.schemas.calls import CallCreate
from api.services.base import ScopedService
from models import (
    Assistant,
    Call,
    CallDirection,
    CallStatus,
    CallTurn,
    Contact,
    PhoneNumber,
    PhoneNumberStatus,
    Trunk,
)
from models.phone import InvalidPhoneNumber, to_e164
from models.repositories import CallRepository


@dataclass(frozen=True)
class CallFilters:
    """What a call list is narrowed to."""

    assistant_id: UUID | None = None
    campaign_id: UUID | None = None
    contact_id: UUID | None = None
    phone_number_id: UUID | None = None
    status: CallStatus | None = None
    direction: CallDirection | None = None
    since: datetime | None = None
    until: datetime | None = None


class CallService(ScopedService[Call]):
    """Calls of one account."""

    repository_type = CallRepository
    noun = "call"

    def where(self, f: CallFilters) -> list[ColumnElement[bool]]:
        """SQL conditions for the filters."""
        pairs = (
            (f.assistant_id, Call.assistant_id),
            (f.campaign_id, Call.campaign_id),
            (f.contact_id, Call.contact_id),
            (f.phone_number_id, Call.phone_number_id),
            (f.status, Call.status),
            (f.direction, Call.direction),
        )
        clauses: list[ColumnElement[bool]] = [column == value for value, column in pairs if value is not None]
        if f.since is not None:
            clauses.append(Call.created_at >= f.since)
        if f.until is not None:
            clauses.append(Call.created_at < f.until)
        return clauses or [true()]

    async def transcript(self, call_id: UUID) -> list[CallTurn]:
        """The call's turns in order."""
        return list(
            await self.session.scalars(select(CallTurn).where(CallTurn.call_id == call_id).order_by(CallTurn.seq))
        )


@dataclass(frozen=True)
class OutboundCall:
    """A checked request to dial: the assistant, the caller-ID number with its trunk, and whom to call."""

    assistant: Assistant
    number: PhoneNumber
    trunk: Trunk
    destination: str
    contact: Contact | None


class OutboundCallChecks:
    """Checks a call request against the caller's account before anything is dialled."""

    def __init__(self, calls: CallService, default_region: str) -> None:
        self._calls = calls
        self._region = default_region

    async def check(self, body: CallCreate) -> OutboundCall:
        """Resolve and validate every reference of the request, or raise 422 naming the field."""
        session, account = self._calls.session, self._calls.account_id
        assistant = await session.get(Assistant, body.assistant_id)
        if assistant is None or assistant.account_id != account:
            raise Invalid.of([FieldError("assistant_id", "no such assistant in this account")])
        if not assistant.outbound_enabled:
            raise Invalid.of([FieldError("assistant_id", "outbound calls are turned off for this assistant")])
        contact = None
        if body.contact_id is not None:
            contact = await session.get(Contact, body.contact_id)
            if contact is None or contact.account_id != account:
                raise Invalid.of([FieldError("contact_id", "no such contact in this account")])
            if contact.do_not_call:
                raise Invalid.of([FieldError("contact_id", "the contact is on the do-not-call list")])
        raw = body.to_number or (contact.phone if contact else None)
        if not raw:
            raise Invalid.of([FieldError("to_number", "give a number to call, or a contact that has one")])
        try:
            destination = to_e164(raw, self._region)
        except InvalidPhoneNumber as exc:
            raise Invalid.of([FieldError("to_number", str(exc))]) from None
        number = await self._caller_id(body, assistant)
        trunk = await session.get(Trunk, number.trunk_id)
        if trunk is None or not trunk.enabled:
            raise Invalid.of([FieldError("from_number_id", "the number's trunk is disabled")])
        return OutboundCall(assistant, number, trunk, destination, contact)

    async def _caller_id(self, body: CallCreate, assistant: Assistant) -> PhoneNumber:
        session, account = self._calls.session, self._calls.account_id
        if body.from_number_id is not None:
            number = await session.get(PhoneNumber, body.from_number_id)
            if number is None or number.account_id != account:
                raise Invalid.of([FieldError("from_number_id", "no such phone number in this account")])
            if number.status != PhoneNumberStatus.ACTIVE:
                raise Invalid.of([FieldError("from_number_id", f"the number is {number.status.value}")])
            return number
        # Without an explicit caller ID, prefer a number routed to this assistant, then any active one.
        candidates = await session.scalars(
            select(PhoneNumber)
            .where(PhoneNumber.account_id == account, PhoneNumber.status == PhoneNumberStatus.ACTIVE)
            .order_by((PhoneNumber.assistant_id == assistant.id).desc(), PhoneNumber.created_at)
            .limit(1)
        )
        number = candidates.first()
        if number is None:
            raise Invalid.of([FieldError("from_number_id", "the account has no active phone number to call from")])
        return number
