"""Database: migrations, sessions/transactions, SQLite pragmas, schema vs metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlmodel import SQLModel

from storage import Customer, CustomerRepo, Database


async def test_upgrade_from_empty_reaches_head(make_database) -> None:
    db = await make_database(upgrade=False)
    assert await db.current_revision() is None
    await db.upgrade()
    head = Database.head_revision()
    assert head is not None
    assert await db.current_revision() == head
    await db.upgrade()  # idempotent
    assert await db.current_revision() == head


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def test_migrations_match_models(database: Database) -> None:
    async with database.engine.connect() as conn:
        diff = await conn.run_sync(_schema_diff)
    assert diff == []


async def test_ping(database: Database, tmp_path: Path) -> None:
    assert await database.ping() is True
    broken = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        assert await broken.ping() is False
    finally:
        await broken.dispose()


async def test_session_does_not_commit(database: Database) -> None:
    async with database.session() as s:
        await CustomerRepo(s).upsert_from_telegram(1, "Ann")
    async with database.session() as s:
        assert await CustomerRepo(s).get_by_telegram_id(1) is None


async def test_transaction_commits_and_rolls_back(database: Database) -> None:
    async with database.transaction() as s:
        await CustomerRepo(s).upsert_from_telegram(1, "Ann")
    with pytest.raises(RuntimeError):
        async with database.transaction() as s:
            await CustomerRepo(s).upsert_from_telegram(2, "Bob")
            raise RuntimeError("boom")
    async with database.session() as s:
        repo = CustomerRepo(s)
        assert (await repo.get_by_telegram_id(1)) is not None
        assert await repo.get_by_telegram_id(2) is None


async def test_expire_on_commit_is_off(database: Database) -> None:
    async with database.transaction() as s:
        customer = await CustomerRepo(s).upsert_from_telegram(1, "Ann")
    # Attribute access after commit (and after the session closed) must not lazy-load.
    assert customer.first_name == "Ann"
    assert isinstance(customer, Customer)


async def test_foreign_keys_enforced(database: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    from storage import MessageRepo

    with pytest.raises(IntegrityError):
        async with database.transaction() as s:
            await MessageRepo(s).log(customer_id=999, direction="in", content_type="text")


async def test_sqlite_creates_folder_and_enables_wal(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = Database("sqlite+aiosqlite:///data/sub/carebot.db")
    try:
        assert not (tmp_path / "data").exists()  # no I/O at construction
        await db.upgrade()
        assert (tmp_path / "data" / "sub" / "carebot.db").is_file()
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
    finally:
        await db.dispose()


async def test_sqlite_in_memory_shares_one_database() -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    try:
        await db.upgrade()
        async with db.transaction() as s:
            await CustomerRepo(s).upsert_from_telegram(7, "Mem")
        async with db.session() as s:
            assert await CustomerRepo(s).get_by_telegram_id(7) is not None
    finally:
        await db.dispose()


async def test_dispose_then_reuse(sqlite_database: Database) -> None:
    await sqlite_database.dispose()
    assert await sqlite_database.ping() is True


def test_repr_hides_password() -> None:
    db = Database("postgresql+asyncpg://u:secret@db/x")
    assert "secret" not in repr(db)
