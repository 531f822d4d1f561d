"""Call windows with an injected instant: the 08:00-21:00 ceiling, other timezones, midnight, DST."""

from __future__ import annotations

from datetime import UTC, datetime, time

from scheduler.windows import CallWindow, contact_timezone


def utc(*args: int) -> datetime:
    """An instant in UTC."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_the_local_hours_ceiling_narrows_an_all_day_window() -> None:
    window = CallWindow(start=time(0, 0), end=time(23, 59), timezone="America/New_York")
    ny = "America/New_York"  # EDT, UTC-4 in June
    assert not window.allows(utc(2026, 6, 10, 11, 59), ny)  # 07:59 local
    assert window.allows(utc(2026, 6, 10, 12, 0), ny)  # 08:00 local
    assert window.allows(utc(2026, 6, 11, 0, 59), ny)  # 20:59 local
    assert not window.allows(utc(2026, 6, 11, 1, 0), ny)  # 21:00 local: the end is exclusive
    assert window.next_open(utc(2026, 6, 11, 1, 0), ny) == utc(2026, 6, 11, 12, 0)
    unlimited = CallWindow(start=time(0, 0), end=time(23, 59), timezone=ny, local_hours=False)
    assert unlimited.allows(utc(2026, 6, 11, 1, 0), ny)


def test_contacts_in_other_timezones() -> None:
    campaign_zone = CallWindow(start=time(9), end=time(17), timezone="America/New_York", use_contact_timezone=False)
    la = "America/Los_Angeles"
    at = utc(2026, 6, 10, 13, 30)  # 09:30 in New York, 06:30 in Los Angeles
    assert campaign_zone.allows(at, "America/New_York")
    assert not campaign_zone.allows(at, la)  # inside the window, but before 08:00 where the callee is
    assert campaign_zone.next_open(at, la) == utc(2026, 6, 10, 15, 0)  # 08:00 LA = 11:00 NY
    own_zone = CallWindow(start=time(9), end=time(17), timezone="America/New_York", use_contact_timezone=True)
    assert own_zone.next_open(at, la) == utc(2026, 6, 10, 16, 0)  # 09:00 LA
    assert own_zone.next_open(at, "Europe/Berlin") == at  # 15:30 in Berlin


def test_windows_that_cross_midnight() -> None:
    # 20:00-02:00 London (UTC in winter) ∩ 08:00-21:00 Tokyo (UTC+9 = 23:00-12:00 UTC) = 23:00-02:00 UTC
    window = CallWindow(start=time(20), end=time(2), timezone="Europe/London", use_contact_timezone=False)
    tokyo = "Asia/Tokyo"
    assert not window.allows(utc(2026, 1, 15, 21, 0), tokyo)
    assert window.next_open(utc(2026, 1, 15, 21, 0), tokyo) == utc(2026, 1, 15, 23, 0)
    assert window.allows(utc(2026, 1, 16, 1, 30), tokyo)
    assert window.next_open(utc(2026, 1, 16, 2, 0), tokyo) == utc(2026, 1, 16, 23, 0)
    # The same window in the callee's own zone never meets the ceiling: nothing to dial, ever.
    own = CallWindow(start=time(22), end=time(2), timezone="Europe/London")
    assert own.next_open(utc(2026, 1, 15, 12, 0), "Europe/London") is None
    assert CallWindow(start=time(22), end=time(2), timezone="Europe/London", local_hours=False).allows(
        utc(2026, 1, 15, 23, 30), "Europe/London"
    )


def test_dst_changes_move_the_opening_in_utc() -> None:
    window = CallWindow(start=time(9), end=time(17), timezone="America/New_York")
    ny = "America/New_York"
    # Spring forward on 2026-03-08: Saturday closes at 17:00 EST (22:00 UTC), Sunday opens 09:00 EDT (13:00 UTC).
    assert window.next_open(utc(2026, 3, 7, 22, 0), ny) == utc(2026, 3, 8, 13, 0)
    # Fall back on 2026-11-01: Sunday opens at 09:00 EST (14:00 UTC).
    assert window.next_open(utc(2026, 10, 31, 21, 0), ny) == utc(2026, 11, 1, 14, 0)
    # A window that opens inside the skipped hour opens as the clocks jump (03:30 EDT = 07:30 UTC).
    night = CallWindow(start=time(2, 30), end=time(5), timezone=ny, local_hours=False)
    assert night.next_open(utc(2026, 3, 8, 6, 0), ny) == utc(2026, 3, 8, 7, 30)


def test_a_contact_timezone_comes_from_the_contact_then_the_phone_then_the_campaign() -> None:
    assert contact_timezone("Asia/Tokyo", "+442071234567", "America/New_York") == "Asia/Tokyo"
    assert contact_timezone(None, "+442071234567", "America/New_York") == "Europe/London"
    assert contact_timezone(None, "+14155550123", "America/New_York") == "America/Los_Angeles"
    assert contact_timezone(None, None, "America/New_York") == "America/New_York"
