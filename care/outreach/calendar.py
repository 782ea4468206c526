"""The care calendar: occasions worth a greeting (Chinese public and traditional holidays,
the operator's own dates, birthdays), computed from maintained libraries.

Public holidays come from `holidays` (its China calendar tracks the State Council's yearly
notices); the lunar festivals are converted with `lunardate`. No date table is written here,
so next year's dates are right without a code change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import holidays
from lunardate import LunarDate

from care.outreach.config import CustomOccasion

__all__ = [
    "LUNAR_FESTIVALS",
    "OCCASION_NAMES",
    "Occasion",
    "birthday_in",
    "greeting_script",
    "known_occasions",
    "next_occasion_date",
    "occasion_date",
    "occasions",
    "upcoming",
]

#: key -> (lunar month, lunar day)
LUNAR_FESTIVALS: dict[str, tuple[int, int]] = {
    "spring_festival": (1, 1),
    "lantern": (1, 15),
    "dragon_boat": (5, 5),
    "qixi": (7, 7),
    "mid_autumn": (8, 15),
    "double_ninth": (9, 9),
}
#: key -> name in the `holidays` China calendar (English), for the public holidays we greet on.
_PUBLIC: dict[str, str] = {
    "new_year": "New Year's Day",
    "labor_day": "Labor Day",
    "national_day": "National Day",
}
#: key -> (Chinese name, English name)
OCCASION_NAMES: dict[str, tuple[str, str]] = {
    "new_year": ("元旦", "New Year's Day"),
    "spring_festival": ("春节", "Spring Festival"),
    "lantern": ("元宵节", "Lantern Festival"),
    "labor_day": ("劳动节", "Labour Day"),
    "dragon_boat": ("端午节", "Dragon Boat Festival"),
    "qixi": ("七夕", "Qixi Festival"),
    "mid_autumn": ("中秋节", "Mid-Autumn Festival"),
    "national_day": ("国庆节", "National Day"),
    "double_ninth": ("重阳节", "Double Ninth Festival"),
    "birthday": ("生日", "Birthday"),
}


@dataclass(frozen=True, slots=True, order=True)
class Occasion:
    """One dated occasion; `kind` is public, traditional or custom."""

    date: date
    key: str
    name: str
    name_en: str
    kind: str


def _public_date(year: int, english_name: str) -> date | None:
    calendar = holidays.country_holidays("CN", years=year, language="en_US")
    days = sorted(calendar.get_named(english_name, lookup="exact"))
    # The first day of a multi-day holiday is the day itself; later ones are days off.
    return days[0] if days else None


def occasion_date(key: str, year: int, custom: Sequence[CustomOccasion] = ()) -> date | None:
    """The solar date of occasion `key` in `year` (None when unknown or not that year)."""
    if key in LUNAR_FESTIVALS:
        month, day = LUNAR_FESTIVALS[key]
        solar: date = LunarDate(year, month, day).to_solar_date()
        return solar
    if key in _PUBLIC:
        return _public_date(year, _PUBLIC[key])
    for item in custom:
        if item.key == key:
            return birthday_in(date(2024, item.month, item.day), year)
    return None


def known_occasions(custom: Sequence[CustomOccasion] = ()) -> list[str]:
    """The keys the calendar can date: public holidays, lunar festivals, custom dates."""
    return [*_PUBLIC, *LUNAR_FESTIVALS, *(item.key for item in custom)]


def next_occasion_date(key: str, today: date, custom: Sequence[CustomOccasion] = ()) -> date | None:
    """The first date of occasion `key` on or after `today` (None when the calendar has none).

    >>> next_occasion_date("mid_autumn", date(2026, 12, 1))
    datetime.date(2027, 9, 15)
    """
    for year in (today.year, today.year + 1, today.year + 2):
        when = occasion_date(key, year, custom)
        if when is not None and when >= today:
            return when
    return None


def occasions(year: int, custom: Sequence[CustomOccasion] = ()) -> list[Occasion]:
    """Every occasion of `year`, in date order."""
    found: list[Occasion] = []
    for key in (*_PUBLIC, *LUNAR_FESTIVALS):
        when = occasion_date(key, year)
        if when is not None:
            zh, en = OCCASION_NAMES[key]
            kind = "traditional" if key in LUNAR_FESTIVALS else "public"
            found.append(Occasion(when, key, zh, en, kind))
    for item in custom:
        when = birthday_in(date(2024, item.month, item.day), year)
        found.append(Occasion(when, item.key, item.name, item.name_en or item.name, "custom"))
    return sorted(found)


def upcoming(today: date, days: int = 366, custom: Sequence[CustomOccasion] = ()) -> list[Occasion]:
    """Occasions from `today` (inclusive) to `days` ahead."""
    end = today + timedelta(days=days)
    found = [
        item
        for year in range(today.year, end.year + 1)
        for item in occasions(year, custom)
        if today <= item.date <= end
    ]
    return sorted(found)


def birthday_in(born: date, year: int) -> date:
    """The day a birthday is celebrated in `year` (29 February -> 28 February in common years)."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def greeting_script(occasion: str, tier: str) -> str:
    """The conventional script id of an occasion's greeting for a tier."""
    return f"greeting.{occasion}.{tier}"
