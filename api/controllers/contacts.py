"""``/api/crm/contacts``: CRUD, filters, search, CSV import and export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Stream

from api.auth import Principal
from api.errors import Invalid
from api.pagination import Page, PageParams
from api.schemas.common import changes, to_out
from api.schemas.crm import ContactCreate, ContactOut, ContactUpdate, ImportReport
from api.services.contact_csv import export_contacts, import_contacts
from api.services.contacts import ContactFilters, ContactService
from models import LeadStatus

MAX_IMPORT_BYTES = 64 * 1024 * 1024


def _filters(
    company_id: UUID | None,
    lead_status: LeadStatus | None,
    do_not_call: bool | None,
    tag: str | None,
    q: str | None,
) -> ContactFilters:
    return ContactFilters(company_id=company_id, lead_status=lead_status, do_not_call=do_not_call, tag=tag, q=q)


@dataclass
class ContactImportForm:
    """A CSV file of contacts and, optionally, the company rows without a ``company`` column go to."""

    file: UploadFile
    company_id: UUID | None = None


Tag = Annotated[str | None, Parameter(max_length=50, description="Has this tag")]
Search = Annotated[str | None, Parameter(max_length=200, description="Name or email prefix, or phone digits")]


class ContactController(Controller):
    """Contacts of the caller's account."""

    path = "/api/crm/contacts"
    tags = ["crm"]

    @get("/")
    async def list_contacts(
        self,
        contacts_service: ContactService,
        page: PageParams,
        company_id: UUID | None = None,
        lead_status: LeadStatus | None = None,
        do_not_call: bool | None = None,
        tag: Tag = None,
        q: Search = None,
    ) -> Page[ContactOut]:
        """List contacts, newest first, narrowed by company, lead status, DNC, tag or a search."""
        where = contacts_service.where(_filters(company_id, lead_status, do_not_call, tag, q))
        items, count = await contacts_service.page(page, *where)
        return Page(items=[to_out(c, ContactOut) for c in items], count=count, limit=page.limit, offset=page.offset)

    @post("/")
    async def create_contact(self, contacts_service: ContactService, data: ContactCreate) -> ContactOut:
        """Create a contact; the phone is stored in E.164."""
        return to_out(await contacts_service.add(changes(data)), ContactOut)

    @get("/{contact_id:uuid}")
    async def get_contact(self, contacts_service: ContactService, contact_id: UUID) -> ContactOut:
        """Read one contact."""
        return to_out(await contacts_service.get(contact_id), ContactOut)

    @patch("/{contact_id:uuid}")
    async def update_contact(
        self, contacts_service: ContactService, contact_id: UUID, data: ContactUpdate
    ) -> ContactOut:
        """Change a contact."""
        return to_out(await contacts_service.change(await contacts_service.get(contact_id), changes(data)), ContactOut)

    @delete("/{contact_id:uuid}")
    async def delete_contact(self, contacts_service: ContactService, contact_id: UUID) -> None:
        """Delete a contact."""
        await contacts_service.delete(contact_id)

    @post("/import", request_max_body_size=MAX_IMPORT_BYTES, status_code=200)
    async def import_csv(
        self,
        contacts_service: ContactService,
        data: Annotated[ContactImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportReport:
        """Import a CSV: good rows are stored, each bad row is reported with its field and problem."""
        raw = await data.file.read()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("file: the CSV must be UTF-8 text", field="file") from None
        return await import_contacts(contacts_service, text.splitlines(), company_id=data.company_id)

    @get("/export", media_type="text/csv")
    async def export_csv(
        self,
        request: Request[Principal, Any, Any],
        company_id: UUID | None = None,
        lead_status: LeadStatus | None = None,
        do_not_call: bool | None = None,
        tag: Tag = None,
        q: Search = None,
    ) -> Stream:
        """Export matching contacts as CSV, in the columns import reads."""
        filters = _filters(company_id, lead_status, do_not_call, tag, q)
        sessions = request.app.state.sessionmaker
        region = request.app.state.settings.crm.default_region
        account_id = request.user.account_id

        async def rows() -> AsyncIterator[str]:
            # The request's session closes when headers go out; the stream needs its own.
            async with sessions() as session:
                async for chunk in export_contacts(ContactService(session, account_id, region), filters):
                    yield chunk

        return Stream(
            rows(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="contacts.csv"'}
        )
