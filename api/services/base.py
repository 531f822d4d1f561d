"""The account-scoped service every resource service builds on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from advanced_alchemy.exceptions import NotFoundError
from advanced_alchemy.filters import LimitOffset
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Invalid, NotFound
from api.pagination import PageParams
from models.base import AccountOwned, Base

M = TypeVar("M", bound=Base)


class ScopedService(Generic[M]):
    """Reads and writes rows of one table, only ever inside one account."""

    repository_type: ClassVar[type[SQLAlchemyAsyncRepository[Any]]]
    noun: ClassVar[str]

    def __init__(self, session: AsyncSession, account_id: UUID) -> None:
        self.session = session
        self.account_id = account_id
        model = self.repository_type.model_type
        assert issubclass(model, AccountOwned)
        self.model: type[M] = model  # type: ignore[assignment]
        self.repository: SQLAlchemyAsyncRepository[M] = self.repository_type(
            session=session, statement=select(model).where(model.account_id == account_id), auto_expunge=False
        )

    async def get(self, item_id: UUID) -> M:
        """The row with this id in the caller's account, or 404."""
        try:
            return await self.repository.get(item_id)
        except NotFoundError:
            raise NotFound(f"{self.noun} {item_id} not found") from None

    async def page(
        self,
        params: PageParams,
        *filters: ColumnElement[bool],
        order_by: Any = None,
    ) -> tuple[Sequence[M], int]:
        """One page of rows matching ``filters`` and the total count, newest first by default."""
        order = order_by if order_by is not None else (self.model.id, True)  # type: ignore[attr-defined]
        # A separate count(*): the default count(*) OVER () makes PostgreSQL read every matching
        # row in full before LIMIT applies.
        return await self.repository.get_many_and_count(
            LimitOffset(limit=params.limit, offset=params.offset),
            *filters,
            order_by=order,
            count_with_window_function=False,
        )

    async def create(self, **values: Any) -> M:
        """Insert a row owned by the caller's account."""
        item = self.model(account_id=self.account_id, **values)
        return await self.repository.add(item, auto_commit=False, auto_refresh=True)

    async def save(self, item: M) -> M:
        """Write the changed attributes of a row."""
        return await self.repository.update(item, auto_commit=False, auto_refresh=True)

    async def delete(self, item_id: UUID) -> None:
        """Delete a row of the caller's account, or 404."""
        await self.get(item_id)
        await self.repository.delete(item_id, auto_commit=False)

    async def require_owned(self, other: type[Base], item_id: UUID | None, field: str) -> None:
        """422 naming ``field`` unless ``item_id`` is a row of ``other`` in the caller's account."""
        if item_id is None:
            return
        found = await self.session.scalar(
            select(other.id).where(other.id == item_id, other.account_id == self.account_id)  # type: ignore[attr-defined]
        )
        if found is None:
            raise Invalid(f"{field}: no {other.__tablename__.replace('_', ' ')} {item_id} in this account", field=field)
