"""The care calendar: lunar festivals via lunardate, public holidays via holidays."""

from __future__ import annotations

from datetime import date

import pytest

from care.outreach.calendar import birthday_in, occasion_date, occasions, upcoming
from care.outreach.config import CustomOccasion


@pytest.mark.parametrize(
    ("key", "year", "expected"),
    [
        ("spring_festival", 2027, date(2027, 2, 6)),
        ("spring_festival", 2026, date(2026, 2, 17)),
        ("mid_autumn", 2026, date(2026, 9, 25)),
        ("lantern", 2026, date(2026, 3, 3)),
        ("dragon_boat", 2026, date(2026, 6, 19)),
        ("qixi", 2026, date(2026, 8, 19)),
        ("double_ninth", 2026, date(2026, 10, 18)),
        ("new_year", 2027, date(2027, 1, 1)),
        ("national_day", 2026, date(2026, 10, 1)),
    ],
)
def test_occasion_dates(key: str, year: int, expected: date) -> None:
    assert occasion_date(key, year) == expected


def test_year_lists_all_festivals_in_order_with_custom_dates() -> None:
    custom = [CustomOccasion(key="shop_anniversary", name="店庆", month=6, day=8)]
    items = occasions(2026, custom)
    keys = [o.key for o in items]
    for key in (
        "new_year",
        "spring_festival",
        "lantern",
        "dragon_boat",
        "qixi",
        "mid_autumn",
        "national_day",
        "double_ninth",
        "shop_anniversary",
    ):
        assert key in keys
    assert [o.date for o in items] == sorted(o.date for o in items)


def test_upcoming_crosses_the_year() -> None:
    items = upcoming(date(2026, 11, 23), days=90)
    assert [o.key for o in items][:2] == ["new_year", "spring_festival"]
    assert all(o.date >= date(2026, 11, 23) for o in items)


def test_leap_day_birthday() -> None:
    assert birthday_in(date(2000, 2, 29), 2027) == date(2027, 2, 28)
    assert birthday_in(date(2000, 2, 29), 2028) == date(2028, 2, 29)


def test_custom_date_must_exist() -> None:
    with pytest.raises(ValueError):
        CustomOccasion(key="x", name="x", month=4, day=31)
