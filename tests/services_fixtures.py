"""Real-server fixtures: Redis and fresh PostgreSQL databases, skipped or required like CI wants.

* ``redis_url`` - ``$CAREBOT_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``), and
  ``redis_prefix`` - a key prefix unique to the test (pass it as ``redis_prefix=`` setting);
  its keys are deleted afterwards. Nothing is flushed: other runs may share the server.
  Outside CI an unreachable server skips the test with the reason; with ``CI=true`` it fails
  (CI must exercise the real servers).
* ``fresh_postgres_url()`` - an async context manager creating a throw-away PostgreSQL database
  (same rules, via ``tests.storage.conftest``) and dropping it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.storage.conftest import _admin_engine, postgres_url

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_test_url() -> str:
    return os.environ.get("CAREBOT_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def _unavailable(what: str, reason: str, variable: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"{what} unavailable ({reason}); set {variable}")


@pytest.fixture
async def redis_url() -> str:
    """A reachable Redis server for this test."""
    url = redis_test_url()
    client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    reason: str | None = None
    try:
        await client.ping()
    except Exception as exc:  # any failure means "no server"; reported as the skip reason
        reason = f"{url}: {type(exc).__name__}: {exc}"
    if reason is not None:
        await client.aclose()
        _unavailable("Redis", reason, "CAREBOT_TEST_REDIS_URL")
    await client.aclose()
    return url


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix no other test or run uses; its keys are removed at teardown."""
    prefix = f"carebot-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@asynccontextmanager
async def fresh_postgres_url() -> AsyncIterator[str]:
    """A new empty PostgreSQL database (asyncpg URL), dropped on exit."""
    admin = await _admin_engine()
    name = f"carebot_test_{uuid.uuid4().hex[:16]}"
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(postgres_url()).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
async def postgres_database_url() -> AsyncIterator[str]:
    async with fresh_postgres_url() as url:
        yield url
