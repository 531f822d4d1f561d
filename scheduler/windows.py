"""When a contact may be called: the campaign window intersected with 08:00-21:00 of the contact's local time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from models.phone import timezone_of

Clock = Callable[[], datetime]
"""Returns the current instant (timezone-aware); tests inject their own."""

LOCAL_HOURS = (time(8, 0), time(21, 0))
"""The ceiling of calling hours in the callee's local time; a campaign window can only narrow it."""
SEARCH_DAYS = 8  # a window that opens at all opens within a week (DST shifts included)


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _within(t: time, start: time, end: time) -> bool:
    """``start <= t < end``; a window whose end is before its start crosses midnight."""
    if start < end:
        return start <= t < end
    return t >= start or t < end


def contact_timezone(timezone: str | None, phone: str | None, fallback: str) -> str:
    """The contact's own timezone, else the one its phone number's prefix fixes, else ``fallback``."""
    return timezone or (timezone_of(phone) if phone else None) or fallback


@dataclass(frozen=True)
class CallWindow:
    """A campaign's daily window, in its own timezone or in each contact's."""

    start: time
    end: time
    timezone: str
    use_contact_timezone: bool = True
    local_hours: bool = True

    def allows(self, at: datetime, contact_tz: str) -> bool:
        """Whether a contact in ``contact_tz`` may be called at instant ``at``."""
        window_zone = _zone(contact_tz if self.use_contact_timezone else self.timezone)
        if not _within(at.astimezone(window_zone).time(), self.start, self.end):
            return False
        return not self.local_hours or _within(at.astimezone(_zone(contact_tz)).time(), *LOCAL_HOURS)

    def next_open(self, at: datetime, contact_tz: str) -> datetime | None:
        """The first instant at or after ``at`` when the contact may be called, or None if never within a week."""
        if self.allows(at, contact_tz):
            return at
        # The allowed set opens only where one of its parts opens: a window start or the 08:00 ceiling start.
        starts = [(contact_tz if self.use_contact_timezone else self.timezone, self.start)]
        if self.local_hours:
            starts.append((contact_tz, LOCAL_HOURS[0]))
        candidates: list[datetime] = []
        for zone_name, opening in starts:
            zone = _zone(zone_name)
            today = at.astimezone(zone).date()
            for offset in range(-1, SEARCH_DAYS):
                candidate = _local(today + timedelta(days=offset), opening, zone)
                if candidate > at:
                    candidates.append(candidate)
        for candidate in sorted(candidates):
            if self.allows(candidate, contact_tz):
                return candidate
        return None


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time; a time skipped by DST lands just after the gap."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
