"""CRM companies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from api.errors import Conflict, FieldError, Invalid
from api.services.base import ScopedService
from models import Company, Contact
from models.phone import InvalidPhoneNumber, to_e164
from models.repositories import CompanyRepository


class CompanyService(ScopedService[Company]):
    """Companies of one account; names are unique within it."""

    repository_type = CompanyRepository
    noun = "company"

    def __init__(self, *args: Any, default_region: str = "US", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_region = default_region

    async def by_name(self, name: str) -> Company | None:
        """The company with exactly this name, if any."""
        return await self.session.scalar(
            select(Company).where(Company.account_id == self.account_id, Company.name == name)
        )

    async def _clean(self, values: dict[str, Any], current: Company | None = None) -> dict[str, Any]:
        if "name" in values:
            values["name"] = values["name"].strip()
            if not values["name"]:
                raise Invalid("name: must not be blank", field="name")
            other = await self.by_name(values["name"])
            if other is not None and (current is None or other.id != current.id):
                raise Conflict(f"name: a company named '{values['name']}' already exists", field="name")
        if values.get("phone"):
            try:
                values["phone"] = to_e164(values["phone"], self.default_region)
            except InvalidPhoneNumber as exc:
                raise Invalid.of([FieldError(field="phone", message=str(exc))]) from None
        return values

    async def add(self, values: dict[str, Any]) -> Company:
        """Create a company; 409 when the name is taken."""
        return await self.create(**await self._clean(values))

    async def change(self, item: Company, values: dict[str, Any]) -> Company:
        """Update a company."""
        for name, value in (await self._clean(values, item)).items():
            setattr(item, name, value)
        return await self.save(item)

    async def remove(self, item: Company) -> None:
        """Delete a company that has no contacts left; 409 otherwise, so no contact is lost."""
        count = await self.session.scalar(select(func.count()).where(Contact.company_id == item.id))
        if count:
            raise Conflict(f"company has {count} contacts; delete or move them first")
        await self.delete(item.id)
