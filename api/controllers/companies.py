"""``/api/crm/companies``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from api.pagination import Page, PageParams
from api.schemas.common import changes, to_out
from api.schemas.crm import CompanyCreate, CompanyOut, CompanyUpdate
from api.services.companies import CompanyService
from models import Company


class CompanyController(Controller):
    """Companies of the caller's account."""

    path = "/api/crm/companies"
    tags = ["crm"]

    @get("/")
    async def list_companies(
        self,
        companies_service: CompanyService,
        page: PageParams,
        q: Annotated[str | None, Parameter(max_length=200, description="Name contains")] = None,
    ) -> Page[CompanyOut]:
        """List companies by name."""
        filters = [Company.name.icontains(q, autoescape=True)] if q else []
        items, count = await companies_service.page(page, *filters, order_by=(Company.name, False))
        return Page(items=[to_out(c, CompanyOut) for c in items], count=count, limit=page.limit, offset=page.offset)

    @post("/")
    async def create_company(self, companies_service: CompanyService, data: CompanyCreate) -> CompanyOut:
        """Create a company."""
        return to_out(await companies_service.add(changes(data)), CompanyOut)

    @get("/{company_id:uuid}")
    async def get_company(self, companies_service: CompanyService, company_id: UUID) -> CompanyOut:
        """Read one company."""
        return to_out(await companies_service.get(company_id), CompanyOut)

    @patch("/{company_id:uuid}")
    async def update_company(
        self, companies_service: CompanyService, company_id: UUID, data: CompanyUpdate
    ) -> CompanyOut:
        """Change a company."""
        return to_out(
            await companies_service.change(await companies_service.get(company_id), changes(data)), CompanyOut
        )

    @delete("/{company_id:uuid}")
    async def delete_company(self, companies_service: CompanyService, company_id: UUID) -> None:
        """Delete a company without contacts."""
        await companies_service.remove(await companies_service.get(company_id))
