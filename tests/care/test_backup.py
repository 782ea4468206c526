"""`carebot db backup / restore`: a backup taken under writes restores everything committed
before it began; bad files and live databases are refused; scheduled backups rotate."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from care.cli import app
from care.privacy import backups
from care.runtime.services import build_services
from care.runtime.settings import Settings, load_settings
from storage import Database, TicketRepo

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def _backup_under_writes(settings: Settings, target: Path) -> list[str]:
    """Tickets are committed one per transaction by a writer while the backup runs; returns
    the numbers committed before the backup began."""
    services = build_services(settings)
    await services.database.upgrade()
    committed: list[str] = []
    stop = asyncio.Event()

    async def writer() -> None:
        while not stop.is_set():
            async with services.unit_of_work() as repos:
                ticket = await TicketRepo(repos.session).create(
                    customer_id=customer_id, kind="complaint", subject="写入中", now=NOW,
                    first_response_due=NOW, resolution_due=NOW,
                )  # fmt: skip
            committed.append(ticket.number)
            await asyncio.sleep(0)

    try:
        async with services.unit_of_work() as repos:
            customer = await repos.customers.upsert_from_telegram(9001, "Liang")
            customer_id = customer.id
        task = asyncio.create_task(writer())
        async with asyncio.timeout(60):  # only catches a hang: waits follow progress
            while len(committed) < 30:
                await asyncio.sleep(0.01)
        before = list(committed)
        result = await backups.take_backup(settings, services.database, NOW, target)
        during = len(committed) - len(before)
        async with asyncio.timeout(60):
            while len(committed) < len(before) + during + 5:  # the writer kept going
                await asyncio.sleep(0.01)
        stop.set()
        await task
        assert result.path == target and target.exists()
        return before
    finally:
        await services.aclose()


async def _numbers(url: str) -> set[str]:
    database = Database(url)
    try:
        async with database.session() as session:
            return {t.number for t in await TicketRepo(session).list(limit=100_000)}
    finally:
        await database.dispose()


def test_backup_under_writes_restores_every_ticket_committed_before_it(
    settings: Settings, tmp_path: Path, monkeypatch, request
) -> None:
    sqlite = settings.database_url.startswith("sqlite")
    target = tmp_path / ("backup.db" if sqlite else "backup.dump")
    before = asyncio.run(_backup_under_writes(settings, target))

    restored_url = (
        f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'carebot.db'}"
        if sqlite
        else request.getfixturevalue("postgres_database_url")
    )
    monkeypatch.setenv("DATABASE_URL", restored_url)
    monkeypatch.setenv("BACKUP__DIR", str(tmp_path / "scheduled"))
    runner = CliRunner()
    restored = runner.invoke(app, ["db", "restore", str(target)])
    assert restored.exit_code == 0, restored.output
    current = runner.invoke(app, ["db", "current"])
    assert current.exit_code == 0
    assert current.output.splitlines()[-1] == f"revision: {Database.head_revision()}"
    numbers = asyncio.run(_numbers(restored_url))
    assert set(before) <= numbers
    assert len(numbers) >= len(before)

    # The restored database now holds data: replacing it needs --yes.
    again = runner.invoke(app, ["db", "restore", str(target)])
    assert again.exit_code == 1 and "--yes" in again.output
    forced = runner.invoke(app, ["db", "restore", str(target), "--yes"])
    assert forced.exit_code == 0, forced.output


def test_restore_refuses_a_file_that_is_not_a_carebot_database(tmp_path: Path, monkeypatch) -> None:
    import sqlite3

    live = tmp_path / "live.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{live}")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    untouched = live.read_bytes()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello", encoding="utf-8")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    for bad, why in (
        (text_file, "is not a SQLite database"),
        (other, "not a carebot database"),
        (tmp_path / "missing.db", "No such file"),
    ):
        result = runner.invoke(app, ["db", "restore", str(bad), "--yes"])
        assert result.exit_code == 1 and why in result.output, result.output
        assert live.read_bytes() == untouched


def test_restore_refuses_while_the_bot_holds_the_lock(tmp_path: Path, monkeypatch) -> None:
    from care.runtime.leadership import FileLeaderLock

    live = tmp_path / "live.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{live}")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(app, ["db", "backup", "--to", str(tmp_path / "b.db")])
    assert made.exit_code == 0 and "backup written" in made.output
    lock = FileLeaderLock(tmp_path / "carebot.scheduler.lock")
    assert asyncio.run(lock.acquire())
    try:
        refused = runner.invoke(app, ["db", "restore", str(tmp_path / "b.db"), "--yes"])
        assert refused.exit_code == 1 and "stop it first" in refused.output
    finally:
        asyncio.run(lock.release())


async def test_scheduled_backups_rotate(tmp_path: Path) -> None:
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}",
        backup={"keep": 3, "every_hours": 24},
    )
    database = Database(settings.database_url)
    await database.upgrade()
    try:
        folder = backups.backup_dir(settings, database)
        assert folder == tmp_path / "backups"
        made = []
        for day in range(5):
            now = NOW + timedelta(days=day)
            path = await backups.scheduled_backup(settings, database, now)
            assert path is not None
            os.utime(path, (now.timestamp(), now.timestamp()))
            made.append(path.name)
            # Within the day: nothing new.
            assert (
                await backups.scheduled_backup(settings, database, now + timedelta(hours=1)) is None
            )
        assert sorted(p.name for p in folder.iterdir()) == made[-3:]
    finally:
        await database.dispose()


def test_backup_of_postgres_without_pg_dump_prints_the_command(monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://carebot:s3cret@db.example:5433/care")
    monkeypatch.setenv("PATH", "/nonexistent")
    result = CliRunner().invoke(app, ["db", "backup", "--to", "/tmp/x.dump"])
    assert result.exit_code == 1
    assert "pg_dump --format=custom --no-owner --host db.example --port 5433" in result.output
    assert "--username carebot --file /tmp/x.dump care" in result.output
    assert "s3cret" not in result.output


def test_settings_have_documented_defaults() -> None:
    settings = load_settings()
    assert (settings.retention.messages_days, settings.retention.closed_tickets_days) == (365, 730)
    assert settings.retention.deliveries_days == 180 and settings.backup.keep == 7
    assert load_settings(retention={"messages_days": 0}).retention.messages_days == 0
