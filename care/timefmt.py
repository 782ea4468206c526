"""Deadlines as a customer reads them: local time, in the customer's language.

The bot promises a time ("we will reply by 15:30 today"), so it must be the
business's local time and phrased the way a person would say it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

__all__ = ["format_deadline", "format_hours"]

_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_deadline(due: datetime, now: datetime, zone: ZoneInfo, language: str) -> str:
    """`due` as a deadline phrase in local wall time ("by 15:30 today", "今天15:30前").

    Scripts place it after a verb ("will reply {{ first_response_due }}" /
    "会在{{ first_response_due }}回复您"), so the phrase carries its own "by" / "前".

    >>> from datetime import UTC
    >>> z = ZoneInfo("Asia/Shanghai")
    >>> now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    >>> format_deadline(datetime(2026, 11, 23, 2, 30, tzinfo=UTC), now, z, "zh-Hans")
    '今天10:30前'
    >>> format_deadline(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), now, z, "en")
    'by 10:00 tomorrow'
    >>> format_deadline(datetime(2026, 11, 30, 2, 0, tzinfo=UTC), now, z, "zh-Hant")
    '11月30日10:00前'
    """
    local_due = due.astimezone(zone)
    days_ahead = (local_due.date() - now.astimezone(zone).date()).days
    clock = local_due.strftime("%H:%M")
    if language == "en":
        if days_ahead == 0:
            return f"by {clock} today"
        if days_ahead == 1:
            return f"by {clock} tomorrow"
        return f"by {clock} on {local_due.day} {_EN_MONTHS[local_due.month - 1]}"
    if days_ahead == 0:
        return f"今天{clock}前"
    if days_ahead == 1:
        return f"明天{clock}前"
    return f"{local_due.month}月{local_due.day}日{clock}前"


_DAYS = {
    "zh-Hans": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "zh-Hant": ("週一", "週二", "週三", "週四", "週五", "週六", "週日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def format_hours(opens: time, closes: time, weekdays: Sequence[int], language: str) -> str:
    """Business hours as a customer reads them: days (0 = Monday) and the local times.

    >>> format_hours(time(9), time(21), range(7), "zh-Hans")
    '每天 09:00-21:00'
    >>> format_hours(time(9, 30), time(18), [0, 1, 2, 3, 4], "en")
    'Monday to Friday 09:30-18:00'
    >>> format_hours(time(10), time(20), [0, 2, 4], "zh-Hant")
    '週一、週三、週五 10:00-20:00'
    >>> format_hours(time(0), time(0), range(7), "en")
    'every day around the clock'
    """
    names = _DAYS.get(language, _DAYS["en"])
    days = sorted(set(weekdays))
    chinese = language != "en"
    span = f"{opens:%H:%M}-{closes:%H:%M}"
    if opens == closes:  # open round the clock
        span = "24 小时" if chinese else "around the clock"
        if language == "zh-Hant":
            span = "24 小時"
    if len(days) == 7:
        return f"每天 {span}" if chinese else f"every day {span}"
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        first, last = names[days[0]], names[days[-1]]
        return f"{first}至{last} {span}" if chinese else f"{first} to {last} {span}"
    if chinese:
        return f"{'、'.join(names[d] for d in days)} {span}"
    return f"{', '.join(names[d][:3] for d in days)} {span}"
