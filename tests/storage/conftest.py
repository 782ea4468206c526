"""Database fixtures: ``make_database`` builds migrated, isolated databases on every backend.

Reuse from another test folder by importing the fixtures into its ``conftest.py``::

    from tests.storage.conftest import db_backend, make_database  # noqa: F401

Every test using ``make_database`` then runs once per backend (``sqlite``, ``postgresql``).
Use ``sqlite_database`` instead when one backend is enough.

PostgreSQL comes from ``$CAREBOT_TEST_POSTGRES_URL`` (default
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``); each database the factory makes is a
fresh ``CREATE DATABASE`` dropped afterwards, so parallel runs never share tables. When the
server is unreachable the PostgreSQL cases skip, except under ``CI=true`` where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import Database

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")

MakeDatabase = Callable[..., Awaitable[Database]]


def postgres_url() -> str:
    return os.environ.get("CAREBOT_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI but unavailable: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL unavailable ({reason}); set CAREBOT_TEST_POSTGRES_URL")


async def _admin_engine() -> AsyncEngine:
    engine = create_async_engine(
        postgres_url(), isolation_level="AUTOCOMMIT", connect_args={"timeout": 5}
    )
    reason: str | None = None
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connect failure means "no server"; the reason is reported
        reason = f"{make_url(postgres_url())!r}: {type(exc).__name__}: {exc}"
    if reason is not None:
        await engine.dispose()
        _unavailable(reason)  # outside the except block: a clean message, no chained traceback
    return engine


@pytest.fixture(params=[pytest.param(b, marks=getattr(pytest.mark, b)) for b in BACKENDS])
def db_backend(request: pytest.FixtureRequest) -> str:
    """The backend name; parametrises every test that (indirectly) uses it."""
    return str(request.param)


@pytest.fixture
async def make_database(db_backend: str, tmp_path: Path) -> AsyncIterator[MakeDatabase]:
    """Factory: ``db = await make_database(upgrade=True)`` -> a fresh, migrated ``Database``.

    Databases are disposed (and PostgreSQL ones dropped) at teardown, so no engine outlives
    the test (unclosed connections are warnings, and warnings are errors here).
    """
    made: list[Database] = []
    pg_names: list[str] = []
    admin: AsyncEngine | None = None

    async def factory(*, upgrade: bool = True, echo: bool = False) -> Database:
        nonlocal admin
        if db_backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / f'carebot-{len(made)}.db'}"
        else:
            if admin is None:
                admin = await _admin_engine()
            name = f"carebot_test_{uuid.uuid4().hex[:16]}"
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
            pg_names.append(name)
            url = make_url(postgres_url()).set(database=name).render_as_string(hide_password=False)
        db = Database(url, echo=echo)
        made.append(db)
        if upgrade:
            await db.upgrade()
        return db

    try:
        yield factory
    finally:
        for db in made:
            await db.dispose()
        if admin is not None:
            async with admin.connect() as conn:
                for name in pg_names:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()


@pytest.fixture
async def database(make_database: MakeDatabase) -> Database:
    """One migrated database per backend."""
    return await make_database()


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database only (fast; for tests that don't care about the backend)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}")
    try:
        await db.upgrade()
        yield db
    finally:
        await db.dispose()
