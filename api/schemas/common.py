"""Field types shared by the DTOs, and the one function that turns rows into response bodies."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

T = TypeVar("T")

Name = Annotated[str, Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, Meta(max_length=500)]
LongText = Annotated[str, Meta(max_length=20_000)]
Prompt = Annotated[str, Meta(max_length=50_000)]
PhoneText = Annotated[str, Meta(min_length=1, max_length=40, description="Phone number; stored as E.164.")]
Tag = Annotated[str, Meta(min_length=1, max_length=50)]


class Deleted(msgspec.Struct):
    """Answer of a DELETE."""

    deleted: bool = True


def to_out(item: Any, out_type: type[T]) -> T:
    """Convert an ORM row (or anything with attributes) to a response struct."""
    return msgspec.convert(item, out_type, from_attributes=True)


def changes(patch: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually set (UNSET ones left out)."""
    return {f: v for f in patch.__struct_fields__ if (v := getattr(patch, f)) is not msgspec.UNSET}
