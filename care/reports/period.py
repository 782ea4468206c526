"""Report periods: ``--since 2026-11-01`` or ``--since 30d``, ``--until DATE``, and the
period of equal length just before (the comparison column).

Periods are whole local days in the business time zone, half-open ``[since, until)``:
``--until 2026-11-30`` includes the 30th.

>>> from datetime import date
>>> from zoneinfo import ZoneInfo
>>> p = parse_period("30d", None, ZoneInfo("Asia/Shanghai"), today=date(2026, 11, 30))
>>> (p.first_day, p.last_day, p.days)
(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30), 30)
>>> prev = p.previous()
>>> (prev.first_day, prev.last_day)
(datetime.date(2026, 10, 2), datetime.date(2026, 10, 31))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Period", "PeriodError", "parse_period"]

_RELATIVE = re.compile(r"^\s*(\d{1,4})\s*d\s*$", re.IGNORECASE)


class PeriodError(ValueError):
    """A --since/--until value that is not a date, not ``Nd``, or an empty range."""


@dataclass(frozen=True, slots=True)
class Period:
    """Whole local days ``first_day .. last_day`` (inclusive) in ``zone``."""

    first_day: date
    last_day: date
    zone: ZoneInfo

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def since(self) -> datetime:
        """The period's first instant (local midnight), aware UTC."""
        return datetime.combine(self.first_day, time(0), self.zone).astimezone(UTC)

    @property
    def until(self) -> datetime:
        """The first instant after the period, aware UTC."""
        return datetime.combine(self.last_day + timedelta(days=1), time(0), self.zone).astimezone(
            UTC
        )

    def previous(self) -> Period:
        """The period of the same length that ends where this one starts."""
        last = self.first_day - timedelta(days=1)
        return Period(last - timedelta(days=self.days - 1), last, self.zone)


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise PeriodError(
            f"{what}: {value!r} is neither a date (2026-11-01) nor Nd (30d)"
        ) from None


def parse_period(
    since: str | None, until: str | None, zone: ZoneInfo, *, today: date, default_days: int = 30
) -> Period:
    """The period named by ``--since`` (a date or ``Nd``: the N days ending on ``until``)
    and ``--until`` (a date, inclusive; default today)."""
    last = _day(until, "--until") if until else today
    if since is None:
        first = last - timedelta(days=default_days - 1)
    elif match := _RELATIVE.match(since):
        count = int(match.group(1))
        if count < 1:
            raise PeriodError("--since: at least 1d")
        first = last - timedelta(days=count - 1)
    else:
        first = _day(since, "--since")
    if first > last:
        raise PeriodError(f"--since {first} is after --until {last}")
    return Period(first, last, zone)
