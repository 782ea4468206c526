"""Webhook deduplication in Redis: Telegram's retries of an update never produce a second reply.

Keys move ``absent -> processing (lease) -> done (TTL >= 25 h)``:

* ``claim`` sets ``processing:<token>`` with ``SET NX PX lease``. NEW means "run it"; DONE means
  it was committed before (acknowledge, do nothing); BUSY means another worker runs it right now
  (answer 5xx so Telegram asks again later - acknowledging could lose it if that worker dies).
* ``done`` after the update's transaction committed: the key becomes ``done`` for ``ttl``.
* ``release`` after a failure: the key is deleted (only if it is still ours), so the retry runs.

A worker killed mid-update leaves ``processing`` behind; the lease (the same length as the
per-chat isolation lock) lets the retry through after it expires. Update ids are not monotonic,
so nothing relies on their order: each id is its own key and old ones simply expire.
"""

from __future__ import annotations

import secrets
from enum import StrEnum

from redis.asyncio import Redis

__all__ = ["ClaimState", "RedisUpdateLedger"]

_DONE = "done"
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ClaimState(StrEnum):
    NEW = "new"
    DONE = "done"
    BUSY = "busy"


class RedisUpdateLedger:
    """Per-update claims in Redis (see the module docstring for the state machine)."""

    def __init__(
        self,
        redis: Redis,
        *,
        lease_seconds: float = 60.0,
        ttl_seconds: int = 26 * 3600,
        prefix: str = "carebot:update:",
    ) -> None:
        if ttl_seconds < 25 * 3600:
            raise ValueError("the done-TTL must outlive Telegram's retries (>= 25 h)")
        self.redis = redis
        self.lease_ms = int(lease_seconds * 1000)
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix

    def _key(self, update_id: int) -> str:
        return f"{self.prefix}{update_id}"

    async def claim(self, update_id: int) -> tuple[ClaimState, str]:
        """Try to take ``update_id``; returns the state and the token to finish it with."""
        token = "processing:" + secrets.token_hex(8)
        key = self._key(update_id)
        if await self.redis.set(key, token, nx=True, px=self.lease_ms):
            return ClaimState.NEW, token
        current = await self.redis.get(key)
        if current is None:  # expired between the two calls: try once more
            if await self.redis.set(key, token, nx=True, px=self.lease_ms):
                return ClaimState.NEW, token
            return ClaimState.BUSY, ""
        value = current.decode() if isinstance(current, bytes) else str(current)
        return (ClaimState.DONE if value == _DONE else ClaimState.BUSY), ""

    async def done(self, update_id: int) -> None:
        """The update's effects are committed: remember it for ``ttl_seconds``."""
        await self.redis.set(self._key(update_id), _DONE, ex=self.ttl_seconds)

    async def release(self, update_id: int, token: str) -> None:
        """The update failed: forget our claim so Telegram's retry runs it again."""
        await self.redis.eval(_RELEASE, 1, self._key(update_id), token)

    async def is_done(self, update_id: int) -> bool:
        value = await self.redis.get(self._key(update_id))
        return value in (_DONE, _DONE.encode())
