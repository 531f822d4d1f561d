"""Phone numbers (DIDs): unique E.164 numbers routed to at most one assistant."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, FieldError, Invalid
from api.services.base import ScopedService
from models import Assistant, PhoneNumber, Trunk
from models.phone import InvalidPhoneNumber, to_e164
from models.repositories import PhoneNumberRepository


class PhoneNumberService(ScopedService[PhoneNumber]):
    """Phone numbers of one account."""

    repository_type = PhoneNumberRepository
    noun = "phone number"

    def __init__(self, session: AsyncSession, account_id: UUID, default_region: str = "US") -> None:
        super().__init__(session, account_id)
        self.default_region = default_region

    async def _check(self, values: dict[str, Any]) -> dict[str, Any]:
        if "number" in values:
            try:
                values["number"] = to_e164(values["number"], self.default_region)
            except InvalidPhoneNumber as exc:
                raise Invalid.of([FieldError(field="number", message=str(exc))]) from None
            # DIDs are unique across the node: inbound routing looks them up by number alone.
            if await self.session.scalar(select(PhoneNumber.id).where(PhoneNumber.number == values["number"])):
                raise Conflict(f"number: {values['number']} is already configured", field="number")
        if "trunk_id" in values:
            await self.require_owned(Trunk, values["trunk_id"], "trunk_id")
        if values.get("assistant_id") is not None:
            await self.require_owned(Assistant, values["assistant_id"], "assistant_id")
        return values

    async def add(self, values: dict[str, Any]) -> PhoneNumber:
        """Create a phone number."""
        return await self.create(**await self._check(values))

    async def change(self, item: PhoneNumber, values: dict[str, Any]) -> PhoneNumber:
        """Update a phone number."""
        for name, value in (await self._check(values)).items():
            setattr(item, name, value)
        return await self.save(item)
