"""Custom field definitions, and the coercion of values written into them."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from api.errors import Conflict, FieldError, Invalid
from api.services.base import ScopedService
from models import CustomField, CustomFieldType
from models.repositories import CustomFieldRepository

_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})
MAX_TEXT = 2000


def coerce_value(definition: CustomField, value: Any) -> Any:
    """The value as stored for this field (JSON or CSV text accepted); raises ValueError with the reason."""
    kind = definition.type
    if kind == CustomFieldType.TEXT:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValueError("must be text")
        text = str(value)
        if len(text) > MAX_TEXT:
            raise ValueError(f"must be at most {MAX_TEXT} characters")
        return text
    if kind == CustomFieldType.NUMBER:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        if isinstance(value, int | float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                raise ValueError(f"'{value}' is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return int(number) if float(number).is_integer() and abs(number) < 2**53 else float(number)
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"'{value}' is not true or false")
    if kind == CustomFieldType.DATE:
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(f"'{value}' is not a date (YYYY-MM-DD)") from None
    # enum
    text = str(value).strip()
    if text not in definition.options:
        raise ValueError(f"'{value}' is not one of {', '.join(definition.options)}")
    return text


def _check_options(kind: CustomFieldType, options: list[str]) -> None:
    if kind == CustomFieldType.ENUM and not options:
        raise Invalid("options: an enum field needs at least one option", field="options")
    if kind != CustomFieldType.ENUM and options:
        raise Invalid(f"options: only enum fields take options, not {kind.value} fields", field="options")
    if len(set(options)) != len(options):
        raise Invalid("options: options must be unique", field="options")


class CustomFieldService(ScopedService[CustomField]):
    """Defines the extra fields an account's contacts carry."""

    repository_type = CustomFieldRepository
    noun = "custom field"

    async def definitions(self) -> dict[str, CustomField]:
        """Every custom field of the account, by key."""
        rows = await self.session.scalars(select(CustomField).where(CustomField.account_id == self.account_id))
        return {row.key: row for row in rows}

    async def add(self, values: dict[str, Any]) -> CustomField:
        """Create a custom field; 409 when the key exists, 422 when options do not fit the type."""
        _check_options(values["type"], values.get("options", []))
        if values["key"] in await self.definitions():
            raise Conflict(f"key: a custom field '{values['key']}' already exists", field="key")
        return await self.create(**values)

    async def change(self, item: CustomField, values: dict[str, Any]) -> CustomField:
        """Update label, options or description."""
        if "options" in values:
            _check_options(item.type, values["options"])
        for name, value in values.items():
            setattr(item, name, value)
        return await self.save(item)


def coerce_custom_values(
    definitions: dict[str, CustomField], values: dict[str, Any]
) -> tuple[dict[str, Any], list[FieldError]]:
    """Validate custom field values against their definitions; None means remove the field."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in values.items():
        field = f"custom_fields.{key}"
        definition = definitions.get(key)
        if definition is None:
            errors.append(FieldError(field=field, message="no custom field with this key; define it first"))
        elif value is None or value == "":
            clean[key] = None
        else:
            try:
                clean[key] = coerce_value(definition, value)
            except ValueError as exc:
                errors.append(FieldError(field=field, message=str(exc)))
    return clean, errors
