"""The Redis flood window: one limit per customer shared by every worker (real Redis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from care.runtime.flood import FloodGate, RedisFloodGate
from care.runtime.services import build_services
from care.runtime.settings import load_settings

pytestmark = pytest.mark.redis

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def test_two_workers_share_one_window(redis_url: str, redis_prefix: str) -> None:
    """A burst split between two workers is judged like one worker's burst - the case the
    per-process gate gets wrong (each worker would see only half)."""
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    try:
        workers = [RedisFloodGate(r, prefix=redis_prefix, limit=3) for r in (first, second)]
        reference = FloodGate(limit=3)
        moments = [T0 + timedelta(seconds=s) for s in (0, 1, 2, 3, 4, 5, 30)]
        # A minute after the 3rd admitted message the window has room again; a minute after
        # the notice the next refusal would be noticed again.
        moments += [T0 + timedelta(seconds=61), T0 + timedelta(seconds=62)]
        got = [await workers[i % 2].verdict(77, now) for i, now in enumerate(moments)]
        want = [reference.check(77, now) for now in moments]
        assert got == want
        assert got[:6] == ["pass", "pass", "pass", "notify", "drop", "drop"]
        assert got[7] == "pass"
        # Another customer is not affected; keys expire within the window.
        assert await workers[0].verdict(78, T0) == "pass"
        ttl = await first.pttl(f"{redis_prefix}:flood:77")
        assert 0 < ttl <= 60_000
    finally:
        await first.aclose()
        await second.aclose()


async def test_services_use_the_shared_gate_with_redis(redis_url: str, redis_prefix: str) -> None:
    settings = load_settings(
        database_url="sqlite+aiosqlite:///:memory:", redis_url=redis_url, redis_prefix=redis_prefix
    )
    services = build_services(settings)
    try:
        assert isinstance(services.staff.flood, RedisFloodGate)
        assert services.staff.flood.limit == settings.staff.flood_per_minute
    finally:
        await services.aclose()
    without = build_services(load_settings(database_url="sqlite+aiosqlite:///:memory:"))
    try:
        assert isinstance(without.staff.flood, FloodGate)
    finally:
        await without.aclose()
