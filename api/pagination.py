"""List pagination: ``limit`` (default 50, max 500) and ``offset``; pages are ``{items, count, limit, offset}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import Parameter

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class PageParams:
    """Which slice of a list the client asked for."""

    limit: int
    offset: int


class Page(msgspec.Struct, Generic[T]):
    """One page of a list and the total count of matching rows."""

    items: list[T]
    count: int
    limit: int
    offset: int


def provide_page_params(
    limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Rows per page (max 500).")] = DEFAULT_LIMIT,
    offset: Annotated[int, Parameter(ge=0, le=2**31 - 1, description="Rows to skip.")] = 0,
) -> PageParams:
    """Read and bound ``limit`` and ``offset`` from the query string."""
    return PageParams(limit=limit, offset=offset)
