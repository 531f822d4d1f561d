"""Phone numbers as stored: E.164, validated with the phonenumbers package."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberFormat, timezone


class InvalidPhoneNumber(ValueError):
    """The text is not a valid phone number."""


def to_e164(text: str, default_region: str = "US") -> str:
    """Normalise a phone number to E.164 (``+14155550100``); raises InvalidPhoneNumber with the reason."""
    return parse_phone(text, default_region)[0]


def parse_phone(text: str, default_region: str = "US") -> tuple[str, str | None]:
    """A number's E.164 form and its timezone (when its prefix fixes one), parsing it only once."""
    raw = text.strip()
    if not raw:
        raise InvalidPhoneNumber("is empty")
    if len(raw) > 40:
        raise InvalidPhoneNumber("is too long to be a phone number")
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"'{raw}' is not a phone number ({exc._msg.rstrip('.').lower()})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"'{raw}' is not a valid phone number; use E.164 like +14155550100")
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164), _single_zone(parsed)


def timezone_of(e164: str) -> str | None:
    """The IANA timezone of a number when its prefix fixes exactly one, else None."""
    try:
        return _single_zone(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None


def _single_zone(parsed: phonenumbers.PhoneNumber) -> str | None:
    zones = timezone.time_zones_for_number(parsed)
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else None
