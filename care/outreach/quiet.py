"""Quiet hours: no greeting reaches a customer at night in *their* time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["in_quiet_hours", "quiet_until"]


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether a local wall-clock time is inside [start, end); the span may cross midnight.

    >>> in_quiet_hours(time(23, 0), time(21, 0), time(9, 0))
    True
    >>> in_quiet_hours(time(9, 0), time(21, 0), time(9, 0))
    False
    """
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_until(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """None when `now` is outside quiet hours in `zone`, else the UTC instant they end."""
    local = now.astimezone(zone)
    if not in_quiet_hours(local.time(), start, end):
        return None
    day = local.date()
    if start > end and local.time() >= start:
        day += timedelta(days=1)  # evening: quiet hours end tomorrow morning
    # Wall time -> instant via the zone (DST gaps resolve forward, which is what we want).
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)
