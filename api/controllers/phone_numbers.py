"""``/api/phone-numbers``: DIDs and the assistant each routes to."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post

from api.pagination import Page, PageParams
from api.schemas.common import changes, to_out
from api.schemas.telephony import PhoneNumberCreate, PhoneNumberOut, PhoneNumberUpdate
from api.services.phone_numbers import PhoneNumberService
from models import PhoneNumber, PhoneNumberStatus


class PhoneNumberController(Controller):
    """Phone numbers of the caller's account."""

    path = "/api/phone-numbers"
    tags = ["telephony"]

    @get("/")
    async def list_phone_numbers(
        self,
        phone_numbers_service: PhoneNumberService,
        page: PageParams,
        assistant_id: UUID | None = None,
        trunk_id: UUID | None = None,
        status: PhoneNumberStatus | None = None,
    ) -> Page[PhoneNumberOut]:
        """List phone numbers in number order."""
        pairs = (
            (assistant_id, PhoneNumber.assistant_id),
            (trunk_id, PhoneNumber.trunk_id),
            (status, PhoneNumber.status),
        )
        filters = [column == value for value, column in pairs if value is not None]
        items, count = await phone_numbers_service.page(page, *filters, order_by=(PhoneNumber.number, False))
        return Page(items=[to_out(n, PhoneNumberOut) for n in items], count=count, limit=page.limit, offset=page.offset)

    @post("/")
    async def create_phone_number(
        self, phone_numbers_service: PhoneNumberService, data: PhoneNumberCreate
    ) -> PhoneNumberOut:
        """Add a DID of one of the account's trunks."""
        return to_out(await phone_numbers_service.add(changes(data)), PhoneNumberOut)

    @get("/{number_id:uuid}")
    async def get_phone_number(self, phone_numbers_service: PhoneNumberService, number_id: UUID) -> PhoneNumberOut:
        """Read one phone number."""
        return to_out(await phone_numbers_service.get(number_id), PhoneNumberOut)

    @patch("/{number_id:uuid}")
    async def update_phone_number(
        self, phone_numbers_service: PhoneNumberService, number_id: UUID, data: PhoneNumberUpdate
    ) -> PhoneNumberOut:
        """Reassign, relabel or suspend a phone number."""
        item = await phone_numbers_service.change(await phone_numbers_service.get(number_id), changes(data))
        return to_out(item, PhoneNumberOut)

    @delete("/{number_id:uuid}")
    async def delete_phone_number(self, phone_numbers_service: PhoneNumberService, number_id: UUID) -> None:
        """Remove a phone number."""
        await phone_numbers_service.delete(number_id)
