"""Backups: `carebot db backup / restore` and the leader's daily, rotated backup.

SQLite goes through the online backup API (`storage.sqlite_backup`): consistent while the bot
runs. PostgreSQL goes through ``pg_dump`` / ``pg_restore`` when they are installed; when they
are not, `PgToolMissing` carries the exact command to run elsewhere. A restore checks the file
first (a file that is not a carebot database is refused before anything is touched), refuses
to overwrite a database that has data unless told so, and refuses while a bot process on this
machine holds the leader lock (stop it first: it would keep writing into the old data).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from care.runtime.leadership import FileLeaderLock, build_leader_lock
from care.runtime.metrics import Metrics
from care.runtime.settings import Settings
from storage import (
    BackupError,
    Database,
    DumpCommand,
    inspect_pg_dump,
    inspect_sqlite,
    pg_dump_command,
    pg_restore_command,
    run_command,
    sqlite_backup,
    sqlite_in_use,
    sqlite_restore,
)

__all__ = [
    "BackupError",
    "BackupResult",
    "PgToolMissing",
    "backup_dir",
    "restore",
    "rotate",
    "scheduled_backup",
    "take_backup",
]

log = logging.getLogger("carebot.backup")

_PREFIX = "carebot-"


class PgToolMissing(BackupError):
    """pg_dump / pg_restore is not installed here; `command` is what to run instead."""

    def __init__(self, command: DumpCommand) -> None:
        super().__init__(f"{command.argv[0]} is not installed")
        self.command = command


@dataclass(frozen=True, slots=True)
class BackupResult:
    """Where a backup went."""

    path: Path
    #: The schema revision of the copy (SQLite), None for a pg_dump archive.
    revision: str | None


def _in_memory(database: Database) -> bool:
    name = database.url.database or ""
    return database.is_sqlite and (not name or name == ":memory:" or name.startswith("file::"))


def _sqlite_file(database: Database) -> Path:
    name = database.url.database or ""
    if _in_memory(database):
        raise BackupError("an in-memory database cannot be backed up")
    return Path(name).expanduser().resolve()


def backup_dir(settings: Settings, database: Database) -> Path:
    """`[backup] dir`, else `backups/` beside the SQLite file, else `backups/` in the data
    folder (`CAREBOT_DATA_DIR`)."""
    if settings.backup.dir:
        return Path(settings.backup.dir)
    if database.is_sqlite:
        return _sqlite_file(database).parent / "backups"
    return settings.data_dir / "backups"


def _default_name(database: Database, now: datetime) -> str:
    return f"{_PREFIX}{now:%Y%m%d-%H%M%S}.{'db' if database.is_sqlite else 'dump'}"


async def take_backup(
    settings: Settings, database: Database, now: datetime, target: Path | None = None
) -> BackupResult:
    """Back the database up to ``target`` (default: a dated file in `backup_dir`)."""
    target = target or backup_dir(settings, database) / _default_name(database, now)
    if database.is_sqlite:
        source = _sqlite_file(database)
        revision = await asyncio.to_thread(sqlite_backup, source, target)
        return BackupResult(target, revision)
    command = pg_dump_command(database.url, target)
    if shutil.which("pg_dump") is None:
        raise PgToolMissing(command)
    target.parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(run_command, command)
    return BackupResult(target, None)


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` scheduled backups in ``folder``; returns the deleted."""
    backups = sorted(
        (p for p in folder.glob(f"{_PREFIX}*") if p.suffix in (".db", ".dump") and p.is_file()),
        key=lambda p: p.name,  # the name is the timestamp
    )
    stale = backups[: max(0, len(backups) - keep)]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


async def scheduled_backup(
    settings: Settings, database: Database, now: datetime, metrics: Metrics | None = None
) -> Path | None:
    """The leader's hourly check: a backup when the newest is older than `every_hours`."""
    if settings.backup.keep <= 0 or _in_memory(database):
        return None
    folder = backup_dir(settings, database)
    newest = max(
        (p.stat().st_mtime for p in folder.glob(f"{_PREFIX}*") if p.is_file()), default=0.0
    )
    if now.timestamp() - newest < settings.backup.every_hours * 3600:
        return None
    try:
        result = await take_backup(settings, database, now)
    except PgToolMissing as missing:
        log.error("scheduled backup skipped: %s; run: %s", missing, missing.command.shell())
        if metrics is not None:
            metrics.backups.labels("failed").inc()
        return None
    except (BackupError, OSError) as exc:
        log.error("scheduled backup failed: %s", exc)
        if metrics is not None:
            metrics.backups.labels("failed").inc()
        return None
    removed = rotate(folder, settings.backup.keep)
    log.info("backup written to %s (%d old one(s) rotated out)", result.path, len(removed))
    if metrics is not None:
        metrics.backups.labels("ok").inc()
        metrics.last_backup.set(now.timestamp())
    return result.path


async def _bot_running(settings: Settings, database: Database) -> bool:
    """Whether a bot process on this machine holds the (file) leader lock right now."""
    lock = build_leader_lock(settings, database, None)
    if not isinstance(lock, FileLeaderLock):
        return False
    if await lock.acquire():
        await lock.release()
        return False
    return True


async def restore(settings: Settings, database: Database, source: Path, *, yes: bool) -> str:
    """Replace the database with the backup ``source``; returns the restored revision."""
    if database.is_sqlite:
        await asyncio.to_thread(inspect_sqlite, source)  # before anything is touched
        target = _sqlite_file(database)
        if sqlite_in_use(target) and not yes:
            raise BackupError(
                f"{target} holds a database: restoring replaces everything in it; "
                "run again with --yes"
            )
        if await _bot_running(settings, database):
            raise BackupError("a carebot process is running on this database: stop it first")
        await database.dispose()
        return await asyncio.to_thread(sqlite_restore, source, target)
    await asyncio.to_thread(inspect_pg_dump, source)
    if await database.current_revision() is not None and not yes:
        raise BackupError(
            "the database already has a carebot schema: restoring replaces everything in it; "
            "run again with --yes"
        )
    await database.dispose()
    command = pg_restore_command(database.url, source)
    if shutil.which("pg_restore") is None:
        raise PgToolMissing(command)
    await asyncio.to_thread(run_command, command)
    return await database.current_revision() or ""
