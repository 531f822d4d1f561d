"""SIP trunks: validated per kind, passwords encrypted at rest and never returned."""

from __future__ import annotations

import ipaddress
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Conflict, FieldError, Invalid
from api.secrets_box import SecretBox
from api.services.base import ScopedService
from models import PhoneNumber, RegistrationState, Trunk, TrunkKind
from models.repositories import TrunkRepository


class TrunkService(ScopedService[Trunk]):
    """Trunks of one account."""

    repository_type = TrunkRepository
    noun = "trunk"

    def __init__(self, session: AsyncSession, account_id: UUID, secrets: SecretBox) -> None:
        super().__init__(session, account_id)
        self.secrets = secrets

    async def _check(self, values: dict[str, Any], current: Trunk | None = None) -> dict[str, Any]:
        """Validate the merged result of ``values`` over ``current``; encrypt the password."""
        kind = values.get("kind", current.kind if current else None)

        def merged(name: str) -> Any:
            return values[name] if name in values else getattr(current, name, None)

        errors: list[FieldError] = []
        if kind == TrunkKind.REGISTERED:
            for name in ("registrar", "username"):
                if not merged(name):
                    errors.append(FieldError(field=name, message="required for a registered trunk"))
            if not values.get("password") and not (current and current.password_encrypted):
                errors.append(FieldError(field="password", message="required for a registered trunk"))
        else:
            if not merged("peer_host"):
                errors.append(FieldError(field="peer_host", message="required for an IP-authenticated trunk"))
            if not merged("allowed_cidrs"):
                errors.append(
                    FieldError(field="allowed_cidrs", message="list the trunk's source addresses, e.g. 203.0.113.5/32")
                )
        clean_cidrs = []
        for i, cidr in enumerate(values.get("allowed_cidrs") or []):
            try:
                clean_cidrs.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
            except ValueError:
                errors.append(FieldError(field=f"allowed_cidrs[{i}]", message=f"'{cidr}' is not an IP network"))
        if errors:
            raise Invalid.of(errors)
        if "allowed_cidrs" in values:
            values["allowed_cidrs"] = clean_cidrs
        if "name" in values:
            taken = await self.session.scalar(
                select(Trunk.id).where(Trunk.account_id == self.account_id, Trunk.name == values["name"])
            )
            if taken is not None and (current is None or taken != current.id):
                raise Conflict(f"name: a trunk named '{values['name']}' already exists", field="name")
        if values.get("password"):
            values["password_encrypted"] = self.secrets.encrypt(values.pop("password"))
        values.pop("password", None)
        return values

    async def add(self, values: dict[str, Any]) -> Trunk:
        """Create a trunk."""
        values = await self._check(values)
        state = (
            RegistrationState.UNREGISTERED
            if values["kind"] == TrunkKind.REGISTERED
            else (RegistrationState.NOT_APPLICABLE)
        )
        return await self.create(registration_state=state, **values)

    async def change(self, item: Trunk, values: dict[str, Any]) -> Trunk:
        """Update a trunk."""
        for name, value in (await self._check(values, item)).items():
            setattr(item, name, value)
        return await self.save(item)

    async def remove(self, item: Trunk) -> None:
        """Delete a trunk that carries no phone numbers; 409 otherwise."""
        count = await self.session.scalar(select(func.count()).where(PhoneNumber.trunk_id == item.id))
        if count:
            raise Conflict(f"trunk carries {count} phone numbers; delete or move them first")
        await self.delete(item.id)
