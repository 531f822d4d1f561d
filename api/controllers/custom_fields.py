"""``/api/crm/custom-fields``."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post

from api.pagination import Page, PageParams
from api.schemas.common import changes, to_out
from api.schemas.crm import CustomFieldCreate, CustomFieldOut, CustomFieldUpdate
from api.services.custom_fields import CustomFieldService
from models import CustomField


class CustomFieldController(Controller):
    """Custom contact fields of the caller's account."""

    path = "/api/crm/custom-fields"
    tags = ["crm"]

    @get("/")
    async def list_custom_fields(
        self, custom_fields_service: CustomFieldService, page: PageParams
    ) -> Page[CustomFieldOut]:
        """List custom fields by key."""
        items, count = await custom_fields_service.page(page, order_by=(CustomField.key, False))
        return Page(items=[to_out(f, CustomFieldOut) for f in items], count=count, limit=page.limit, offset=page.offset)

    @post("/")
    async def create_custom_field(
        self, custom_fields_service: CustomFieldService, data: CustomFieldCreate
    ) -> CustomFieldOut:
        """Define a custom field."""
        return to_out(await custom_fields_service.add(changes(data)), CustomFieldOut)

    @get("/{field_id:uuid}")
    async def get_custom_field(self, custom_fields_service: CustomFieldService, field_id: UUID) -> CustomFieldOut:
        """Read one custom field."""
        return to_out(await custom_fields_service.get(field_id), CustomFieldOut)

    @patch("/{field_id:uuid}")
    async def update_custom_field(
        self, custom_fields_service: CustomFieldService, field_id: UUID, data: CustomFieldUpdate
    ) -> CustomFieldOut:
        """Change a custom field's label, options or description."""
        return to_out(
            await custom_fields_service.change(await custom_fields_service.get(field_id), changes(data)), CustomFieldOut
        )

    @delete("/{field_id:uuid}")
    async def delete_custom_field(self, custom_fields_service: CustomFieldService, field_id: UUID) -> None:
        """Delete a custom field definition; values already on contacts are kept."""
        await custom_fields_service.delete(field_id)
