"""Per-customer flood control: a sliding one-minute window, a polite notice once per burst.

In memory and per process on purpose: it protects this worker (and the staff group) from one
customer's burst; with several webhook workers each enforces the limit on what it sees.

>>> from datetime import UTC, datetime, timedelta
>>> gate = FloodGate(limit=2)
>>> t = datetime(2026, 1, 1, tzinfo=UTC)
>>> [gate.check(7, t), gate.check(7, t), gate.check(7, t), gate.check(7, t)]
['pass', 'pass', 'notify', 'drop']
>>> gate.check(7, t + timedelta(minutes=1, seconds=1))
'pass'
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

__all__ = ["FloodGate", "FloodVerdict"]

FloodVerdict = Literal["pass", "notify", "drop"]

_WINDOW = timedelta(minutes=1)


@dataclass
class FloodGate:
    """``check(user, now)``: pass, notify (first message over the limit) or drop."""

    limit: int = 20
    _seen: dict[int, deque[datetime]] = field(default_factory=dict)
    _notified: dict[int, datetime] = field(default_factory=dict)

    def check(self, user_id: int, now: datetime) -> FloodVerdict:
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] >= _WINDOW:
            window.popleft()
        if len(window) < self.limit:
            window.append(now)
            if not window or len(window) == 1:
                self._notified.pop(user_id, None)
            return "pass"
        noticed = self._notified.get(user_id)
        if noticed is not None and now - noticed < _WINDOW:
            return "drop"
        self._notified[user_id] = now
        return "notify"
