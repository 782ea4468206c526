"""Business-hours arithmetic: when staff are in, and SLA clocks that pause outside those hours.

A complaint filed at 20:50 with a 30-minute first-response promise is due at 09:20 the next
working morning, not at 21:20 when nobody is there: deadlines are computed by adding
*business* time, and the watcher measures elapsed business time the same way, so what the
bot promises the customer and what the watcher enforces are one number.

>>> from datetime import UTC, datetime, timedelta
>>> from care.runtime.settings import BusinessHours
>>> cal = BusinessCalendar(BusinessHours(), ZoneInfo("Asia/Shanghai"))
>>> start = datetime(2026, 11, 23, 12, 50, tzinfo=UTC)  # 20:50 in Shanghai
>>> cal.add(start, timedelta(minutes=30)).astimezone(cal.zone).strftime("%d %H:%M")
'24 09:20'
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from care.runtime.settings import BusinessHours

__all__ = ["BusinessCalendar", "format_back_at"]

# Looking further than this for an open day means the calendar is misconfigured (no weekdays,
# or a year of holidays); treat time as always-open rather than loop forever.
_MAX_DAYS = 400


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Opening hours + weekdays + holidays in the business time zone."""

    hours: BusinessHours
    zone: ZoneInfo

    def _is_workday(self, day: date) -> bool:
        return day.weekday() in self.hours.weekdays and day not in self.hours.holidays

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening window as aware UTC datetimes, or None on a day off."""
        if not self._is_workday(day):
            return None
        start = datetime.combine(day, self.hours.open, self.zone).astimezone(UTC)
        # close 00:00 means midnight at the end of the day (open 00:00 + close 00:00 = 24 h).
        close = (
            datetime.combine(day, self.hours.close, self.zone)
            if self.hours.close != time(0, 0)
            else datetime.combine(day + timedelta(days=1), time(0, 0), self.zone)
        ).astimezone(UTC)
        return (start, close) if close > start else None

    def _windows_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening windows that end after ``moment``, in order (clipped to start at it)."""
        day = moment.astimezone(self.zone).date()
        for offset in range(_MAX_DAYS):
            window = self._window(day + timedelta(days=offset))
            if window is None:
                continue
            start, end = window
            if end <= moment:
                continue
            yield max(start, moment), end

    def windows(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening windows overlapping ``[start, end)``, clipped to it, in order (for bulk
        arithmetic: reports measure thousands of tickets against one precomputed list)."""
        for window_start, window_end in self._windows_from(start):
            if window_start >= end:
                return
            yield window_start, min(window_end, end)

    def is_open(self, moment: datetime) -> bool:
        window = self._window(moment.astimezone(self.zone).date())
        return window is not None and window[0] <= moment < window[1]

    def next_open(self, moment: datetime) -> datetime:
        """``moment`` itself when open, else when staff are next in."""
        for start, _end in self._windows_from(moment):
            return start
        return moment

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of business time after ``start``."""
        remaining = duration
        for window_start, window_end in self._windows_from(start):
            available = window_end - window_start
            if remaining <= available:
                return window_start + remaining
            remaining -= available
        return start + duration  # no business days configured: plain wall-clock time

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between ``start`` and ``end`` (zero if ``end`` is not later)."""
        total = timedelta(0)
        if end <= start:
            return total
        for window_start, window_end in self._windows_from(start):
            if window_start >= end:
                break
            total += min(window_end, end) - window_start
        return total

    def fraction(self, start: datetime, due: datetime, now: datetime) -> float:
        """How much of the business time from ``start`` to ``due`` has passed at ``now``."""
        budget = self.elapsed(start, due)
        if budget <= timedelta(0):
            return 1.0 if now >= due else 0.0
        return self.elapsed(start, now) / budget


def format_back_at(moment: datetime, now: datetime, zone: ZoneInfo, language: str) -> str:
    """When staff are back, as a customer says it ("明天09:00", "at 09:00 tomorrow").

    >>> z = ZoneInfo("Asia/Shanghai")
    >>> now = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    >>> format_back_at(datetime(2026, 11, 24, 1, 0, tzinfo=UTC), now, z, "zh-Hans")
    '明天09:00'
    >>> format_back_at(datetime(2026, 11, 24, 1, 0, tzinfo=UTC), now, z, "en")
    'at 09:00 tomorrow'
    """
    local = moment.astimezone(zone)
    days_ahead = (local.date() - now.astimezone(zone).date()).days
    clock = local.strftime("%H:%M")
    if language == "en":
        if days_ahead <= 0:
            return f"at {clock} today"
        if days_ahead == 1:
            return f"at {clock} tomorrow"
        return f"at {clock} on {local.day} {local.strftime('%b')}"
    if days_ahead <= 0:
        return f"今天{clock}"
    if days_ahead == 1:
        return f"明天{clock}"
    return f"{local.month}月{local.day}日{clock}"
