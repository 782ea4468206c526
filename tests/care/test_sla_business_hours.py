"""Business-hours SLA arithmetic: deadlines and elapsed time pause outside opening hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from care.desk.business_hours import BusinessCalendar, format_back_at
from care.runtime.settings import BusinessHours

ZONE = ZoneInfo("Asia/Shanghai")


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def _cal(**hours: object) -> BusinessCalendar:
    return BusinessCalendar(BusinessHours(**hours), ZONE)  # type: ignore[arg-type]


def test_deadline_inside_hours_is_plain_addition() -> None:
    assert _cal().add(_local(23, 10), timedelta(minutes=30)) == _local(23, 10, 30)


def test_clock_pauses_overnight() -> None:
    assert _cal().add(_local(23, 20, 50), timedelta(minutes=30)) == _local(24, 9, 20)
    assert _cal().add(_local(23, 23), timedelta(minutes=30)) == _local(24, 9, 30)


def test_weekends_and_holidays_are_skipped() -> None:
    # 2026-11-27 is a Friday; Saturday and Sunday off, Monday 30th a holiday.
    cal = _cal(weekdays=[0, 1, 2, 3, 4], holidays=[date(2026, 11, 30)])
    due = cal.add(_local(27, 20, 45), timedelta(minutes=30))
    assert due == datetime(2026, 12, 1, 9, 15, tzinfo=ZONE).astimezone(UTC)
    assert cal.next_open(_local(28, 12)) == datetime(2026, 12, 1, 9, 0, tzinfo=ZONE).astimezone(UTC)
    assert not cal.is_open(_local(30, 12)) and cal.is_open(_local(27, 12))


def test_resolution_spans_days_in_business_time() -> None:
    due = _cal().add(_local(23, 10), timedelta(hours=24))  # 12 h a day -> two days later
    assert due == _local(25, 10)


def test_elapsed_and_fraction_ignore_closed_hours() -> None:
    cal = _cal()
    start, due = _local(23, 20, 50), _local(24, 9, 20)
    assert cal.elapsed(start, _local(24, 8)) == timedelta(minutes=10)
    assert cal.fraction(start, due, _local(24, 9, 14)) == 0.8
    assert cal.fraction(start, due, _local(24, 9, 20)) == 1.0


def test_no_open_days_falls_back_to_wall_clock() -> None:
    cal = _cal(weekdays=[])
    assert cal.add(_local(23, 10), timedelta(minutes=5)) == _local(23, 10, 5)


def test_custom_hours() -> None:
    cal = _cal(open=time(8, 0), close=time(12, 0))
    assert cal.add(_local(23, 11, 50), timedelta(minutes=20)) == _local(24, 8, 10)


def test_back_at_phrases() -> None:
    now = _local(23, 22)
    assert format_back_at(_local(24, 9), now, ZONE, "zh-Hans") == "明天09:00"
    assert format_back_at(_local(26, 9), now, ZONE, "en") == "at 09:00 on 26 Nov"


def test_close_at_midnight_means_open_until_the_end_of_the_day() -> None:
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    late = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    evening = BusinessCalendar(BusinessHours(open=time(9, 0), close=time(0, 0)), zone)
    assert evening.is_open(late)
    all_day = BusinessCalendar(BusinessHours(open=time(0, 0), close=time(0, 0)), zone)
    assert all_day.is_open(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))  # 00:30 next day
