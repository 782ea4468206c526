"""Leader locks on the real servers: one holder, fencing terms, takeover, and the leader loop."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from care.runtime.leadership import (
    FileLeaderLock,
    RedisLeaderLock,
    build_leader_lock,
    run_as_leader,
)
from care.runtime.logs import ContextFilter, JsonFormatter, log_context, set_ticket
from care.runtime.metrics import Metrics
from care.runtime.settings import load_settings
from storage import Database, PostgresLeaderLock
from tests.progress import finish, wait_until


@pytest.mark.redis
async def test_redis_lock_one_holder_fencing_and_expiry(redis_url: str, redis_prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        # A TTL long enough that a loaded machine's pauses between two calls don't expire it.
        first = RedisLeaderLock(redis, "jobs", "a", ttl=2.0, prefix=redis_prefix)
        second = RedisLeaderLock(redis, "jobs", "b", ttl=2.0, prefix=redis_prefix)
        assert await first.acquire() and first.fencing_token == 1
        assert not await second.acquire()
        assert await first.renew()
        # The holder dies without releasing: its key expires, the standby takes over.
        await wait_until(second.acquire, "the expired lock to be taken over", interval=0.1)
        assert second.fencing_token == 2
        assert not await first.renew(), "an expired holder must learn it lost the lock"
        assert not first.is_leader
        await second.release()
        assert await first.acquire() and first.fencing_token == 3
        await first.release()
    finally:
        await redis.aclose()


@pytest.mark.postgresql
async def test_postgres_lock_one_holder_and_takeover(postgres_database_url: str) -> None:
    one, two = Database(postgres_database_url), Database(postgres_database_url)
    try:
        await one.upgrade()
        first = PostgresLeaderLock(one, "jobs", "a")
        second = PostgresLeaderLock(two, "jobs", "b")
        assert await first.acquire() and first.fencing_token == 1
        assert not await second.acquire()
        assert await first.renew()
        # The holder's session dies (as with kill -9): the server frees the lock as soon as
        # that backend has exited - waited for (up to 5 s) so the takeover below does not
        # race the termination (it did on a slow machine).
        async with two.engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                )
            )
            await conn.commit()
        assert await second.acquire() and second.fencing_token == 2
        assert not await first.renew()
        await second.release()
    finally:
        await one.dispose()
        await two.dispose()


async def test_build_leader_lock_picks_by_settings(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    database = Database(settings.database_url)
    lock = build_leader_lock(settings, database, None)
    assert isinstance(lock, FileLeaderLock)
    assert lock.path.parent == tmp_path
    pg = Database("postgresql+asyncpg://u@127.0.0.1/x")
    assert isinstance(build_leader_lock(settings, pg, None), PostgresLeaderLock)
    redis = Redis.from_url("redis://127.0.0.1:9/0")
    try:
        assert isinstance(build_leader_lock(settings, pg, redis), RedisLeaderLock)
    finally:
        await redis.aclose()


async def test_run_as_leader_starts_and_stops_work(tmp_path: Path) -> None:
    lock = FileLeaderLock(tmp_path / "leader.lock")
    other = FileLeaderLock(tmp_path / "leader.lock")
    events: list[str] = []
    stop = asyncio.Event()
    metrics = Metrics()

    async def elected(term: int) -> object:
        events.append(f"start {term}")

        async def stop_work() -> None:
            events.append("stop")

        return stop_work

    task = asyncio.create_task(
        run_as_leader(lock, elected, stop, poll=0.05, metrics=metrics)  # type: ignore[arg-type]
    )
    await wait_until(lambda: events == ["start 1"], "the leader to start its work")
    assert metrics.sample("carebot_leader") == 1
    assert not await other.acquire()
    stop.set()
    await finish(task, "the leader loop to stop")
    assert events == ["start 1", "stop"] and metrics.sample("carebot_leader") == 0
    assert await other.acquire(), "released on stop"
    await other.release()


def test_json_logs_carry_update_and_ticket() -> None:
    record_filter, formatter = ContextFilter(), JsonFormatter()
    with log_context(update_id=123, chat_id=9):
        set_ticket("C-20261123-0001")
        record = logging.LogRecord(
            "carebot.x", logging.INFO, __file__, 1, "hi %s", ("there",), None
        )
        record_filter.filter(record)
    line = json.loads(formatter.format(record))
    assert line["msg"] == "hi there" and line["update_id"] == 123
    assert line["ticket"] == "C-20261123-0001" and line["chat_id"] == 9
    outside = logging.LogRecord("carebot.x", logging.INFO, __file__, 1, "bye", (), None)
    record_filter.filter(outside)
    assert "update_id" not in json.loads(formatter.format(outside))
