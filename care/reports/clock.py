"""Business time between many pairs of instants, fast: one precomputed list of opening windows
and a binary search per instant, instead of walking the calendar for every ticket.

Same answers as `care.desk.business_hours.BusinessCalendar.elapsed` (a test compares them), in
seconds, on Unix timestamps.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from itertools import accumulate

from care.desk.business_hours import BusinessCalendar

__all__ = ["BusinessClock"]


class BusinessClock:
    """Business seconds between instants inside ``[start, end)``."""

    def __init__(self, calendar: BusinessCalendar, start: datetime, end: datetime) -> None:
        starts: list[float] = []
        ends: list[float] = []
        cursor = start
        while cursor < end:
            last = None
            for window_start, window_end in calendar.windows(cursor, end):
                starts.append(window_start.timestamp())
                ends.append(window_end.timestamp())
                last = window_end
            if last is None:  # no open day ahead (misconfigured calendar): nothing counts
                break
            cursor = last
        self._starts = starts
        self._ends = ends
        # _before[i]: business seconds in the windows before window i.
        self._before = [0.0, *accumulate(e - s for s, e in zip(starts, ends, strict=True))]

    def _position(self, moment: float) -> float:
        """Business seconds from the first window's start to ``moment``."""
        index = bisect_right(self._starts, moment) - 1
        if index < 0:
            return 0.0
        return self._before[index] + min(moment, self._ends[index]) - self._starts[index]

    def elapsed(self, start: float, end: float) -> float:
        """Business seconds from ``start`` to ``end`` (Unix timestamps; 0 if not later)."""
        if end <= start:
            return 0.0
        return self._position(end) - self._position(start)
