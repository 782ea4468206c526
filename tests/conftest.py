"""Shared fixtures: settings on a temporary database, services with a controllable clock.

``CAREBOT_TEST_DATABASE=postgresql`` runs every test that uses ``settings``/``services`` on a
fresh PostgreSQL database (created per test, dropped after) instead of a temporary SQLite file;
``make test`` runs the database-touching folders a second time that way.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from care.runtime.services import Services, build_services
from care.runtime.settings import Settings, load_settings
from tests.services_fixtures import (  # noqa: F401
    postgres_database_url,
    redis_prefix,
    redis_url,
)


class FakeClock:
    """Time travel for tests: `clock()` returns `now`; `advance()` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer .env, carebot.toml or real token leaks into a test."""
    for name in (
        "BOT_TOKEN",
        "TELEGRAM_API_URL",
        "DATABASE_URL",
        "STAFF_CHAT_ID",
        "ADMIN_IDS",
        "TIMEZONE",
        "DEFAULT_LANGUAGE",
        "REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CAREBOT_CONFIG", str(tmp_path / "absent-carebot.toml"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """SQLite in ``tmp_path``, or a fresh PostgreSQL database under CAREBOT_TEST_DATABASE."""
    if os.environ.get("CAREBOT_TEST_DATABASE", "sqlite").lower() in ("postgresql", "postgres"):
        from tests.services_fixtures import fresh_postgres_url

        async with fresh_postgres_url() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return load_settings(database_url=database_url, business_name="Carebot Test Shop")


@pytest.fixture
async def services(settings: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    built = build_services(settings, clock=clock)
    await built.database.upgrade()
    try:
        yield built
    finally:
        await built.aclose()
