"""Keep provider keys out of what providers say back: error messages end up in logs and API answers."""

from __future__ import annotations


def scrub_key(text: str, key: str) -> str:
    """Blank ``key`` out of a provider's message, so a rejected key never reaches logs or callers."""
    # Real keys are long; blanking a short placeholder key would mangle ordinary words instead.
    return text.replace(key, "***") if len(key) >= 8 else text
