"""Per-customer flood control: a sliding one-minute window, a polite notice once per burst.

Two implementations of one contract (`FloodControl.verdict`):

* `FloodGate` - in memory, for one process (the embedded default);
* `RedisFloodGate` - the same window in Redis, used whenever ``REDIS_URL`` is set, so several
  webhook workers enforce one limit per customer instead of each seeing its share of a burst.

>>> from datetime import UTC, datetime, timedelta
>>> gate = FloodGate(limit=2)
>>> t = datetime(2026, 1, 1, tzinfo=UTC)
>>> [gate.check(7, t), gate.check(7, t), gate.check(7, t), gate.check(7, t)]
['pass', 'pass', 'notify', 'drop']
>>> gate.check(7, t + timedelta(minutes=1, seconds=1))
'pass'
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol, cast

from redis.asyncio import Redis

__all__ = ["FloodControl", "FloodGate", "FloodMemory", "FloodVerdict", "RedisFloodGate"]

FloodVerdict = Literal["pass", "notify", "drop"]

_WINDOW = timedelta(minutes=1)


class FloodMemory:
    """Customers this process saw refused within the last window.

    A message's match (and the sentence encoder) starts before its flood verdict, so that it
    overlaps the wait for the write lock; a flooding customer's messages would each cost an
    encoding only to be dropped.  After a refusal their messages skip that early start for a
    window: local and approximate on purpose (no round trip to Redis), because a message the
    gate then lets through is simply matched in the handler, as without the early start.

    >>> from datetime import UTC, datetime, timedelta
    >>> memory, t = FloodMemory(), datetime(2026, 1, 1, tzinfo=UTC)
    >>> memory.refused(7, t)
    >>> memory.flooding(7, t + timedelta(seconds=59)), memory.flooding(8, t)
    (True, False)
    >>> memory.flooding(7, t + timedelta(minutes=1))
    False
    """

    #: Forgotten entries are swept when the memory grows past this many customers.
    SWEEP_AT = 4096

    def __init__(self) -> None:
        self._refused: dict[int, datetime] = {}

    def refused(self, user_id: int, now: datetime) -> None:
        self._refused[user_id] = now
        if len(self._refused) > self.SWEEP_AT:
            self._refused = {u: t for u, t in self._refused.items() if now - t < _WINDOW}

    def flooding(self, user_id: int, now: datetime) -> bool:
        last = self._refused.get(user_id)
        if last is None:
            return False
        if now - last < _WINDOW:
            return True
        del self._refused[user_id]
        return False


class FloodControl(Protocol):
    """What the staff desk asks for each customer message."""

    async def verdict(self, user_id: int, now: datetime) -> FloodVerdict: ...


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

    async def verdict(self, user_id: int, now: datetime) -> FloodVerdict:
        return self.check(user_id, now)


# One round trip, atomic across workers: trim the window, count, then either admit the
# message or say whether this is the first refusal of the window (the one that gets the
# notice). The window restarting (first admitted message) re-arms the notice, as in FloodGate.
_SLIDING_WINDOW = """
local seen, notified = KEYS[1], KEYS[2]
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', seen, '-inf', now - window)
local count = redis.call('ZCARD', seen)
if count < limit then
  redis.call('ZADD', seen, now, ARGV[4])
  redis.call('PEXPIRE', seen, window)
  if count == 0 then redis.call('DEL', notified) end
  return 'pass'
end
if redis.call('SET', notified, now, 'NX', 'PX', window) then return 'notify' end
return 'drop'
"""


class RedisFloodGate:
    """`FloodGate`'s window kept in Redis (keys ``{prefix}:flood:{user}`` and ``...:notified``),
    shared by every worker; both keys expire a minute after the customer's last message.

    Times come from the app clock (``now``), not Redis's, so tests and workers agree.
    """

    def __init__(self, redis: Redis, *, prefix: str, limit: int = 20) -> None:
        self.limit = limit
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_SLIDING_WINDOW)
        # Members must be unique per message across workers (and gates): a random tag per
        # gate plus a local counter.
        tag = uuid.uuid4().hex[:12]
        self._ids = (f"{tag}:{n}" for n in itertools.count())

    async def verdict(self, user_id: int, now: datetime) -> FloodVerdict:
        key = f"{self._prefix}:flood:{user_id}"
        window_ms = int(_WINDOW.total_seconds() * 1000)
        now_ms = int(now.timestamp() * 1000)
        answer = await self._script(
            keys=[key, f"{key}:notified"], args=[now_ms, window_ms, self.limit, next(self._ids)]
        )
        text = answer.decode() if isinstance(answer, bytes) else str(answer)
        if text not in ("pass", "notify", "drop"):
            raise RuntimeError(f"unexpected flood verdict from Redis: {text!r}")
        return cast(FloodVerdict, text)
