"""Call records: filters and the transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, select, true

from api.services.base import ScopedService
from models import Call, CallDirection, CallStatus, CallTurn
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
