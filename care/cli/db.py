"""`carebot db`: create or upgrade the schema, show the current revision, copy, back up and
restore."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from care.cli.common import fail, settings_or_exit
from care.privacy import backups
from care.runtime.settings import async_database_url
from storage import CopyError, Database, copy_database

__all__ = ["app"]

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Create the database if needed and apply every migration (safe to repeat)."""
    settings = settings_or_exit()

    async def _run() -> str | None:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            return await database.current_revision()
        finally:
            await database.dispose()

    revision = asyncio.run(_run())
    typer.echo(f"database at revision {revision}")


def _origin(env_name: str, is_default: bool, default: str) -> str:
    if env_name in os.environ:
        return f"from {env_name}"
    return f"default: {default}" if is_default else "from .env or carebot.toml"


@app.command()
def current() -> None:
    """Which database and data folder commands use, and the schema revision it is at."""
    settings = settings_or_exit()
    database = Database(settings.database_url)
    default_dir = Path("data").resolve()
    typer.echo(
        f"data folder: {settings.data_dir} ("
        + _origin("CAREBOT_DATA_DIR", settings.data_dir == default_dir, "data in this folder")
        + ")"
    )
    default_url = f"sqlite+aiosqlite:///{settings.data_dir / 'carebot.db'}"
    typer.echo(
        f"database: {database.display_url} ("
        + _origin(
            "DATABASE_URL", settings.database_url == default_url, "carebot.db in the data folder"
        )
        + ")"
    )
    sqlite_file = database.sqlite_file
    if sqlite_file is not None and not sqlite_file.exists():
        # Looking must not create it: that is what `db upgrade` is for.
        typer.echo("revision: (no database file yet: `carebot db upgrade` creates it)")
        return

    async def _run() -> str | None:
        try:
            return await database.current_revision()
        finally:
            await database.dispose()

    typer.echo(f"revision: {asyncio.run(_run()) or '(no schema yet: run `carebot db upgrade`)'}")


@app.command()
def copy(
    to: str = typer.Option(
        ..., "--to", help="Target URL, e.g. postgresql+asyncpg://carebot:PASS@db/carebot"
    ),
) -> None:
    """Copy every table from DATABASE_URL into an EMPTY target database (SQLite -> PostgreSQL).

    The target is migrated first; the copy is one transaction, so on any error it stays
    empty. Stop the bot while copying, then point DATABASE_URL at the target.
    """
    settings = settings_or_exit(existing_database=True)
    try:
        target_url = async_database_url(to)
    except ValueError as exc:
        fail(f"--to: {exc}")

    async def _run() -> int:
        source, target = Database(settings.database_url), Database(target_url)
        with Progress(
            TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn()
        ) as bar:
            tasks: dict[str, object] = {}

            def progress(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total)
                bar.update(tasks[table], completed=done)  # type: ignore[arg-type]

            try:
                report = await copy_database(source, target, progress=progress)
            finally:
                await source.dispose()
                await target.dispose()
        return report.total

    try:
        total = asyncio.run(_run())
    except CopyError as exc:
        fail(f"copy refused: {exc}")
    typer.echo(f"copied {total} rows; now set DATABASE_URL to the target URL and start the bot")


@app.command()
def backup(
    to: Annotated[
        Path | None, typer.Option("--to", help="File (default: a dated file in [backup] dir).")
    ] = None,
) -> None:
    """Back the database up, consistently, while the bot keeps running.

    SQLite: the online backup API (one snapshot of every committed transaction). PostgreSQL:
    pg_dump in its custom format; without pg_dump here, prints the command to run.
    """
    settings = settings_or_exit(existing_database=True)

    async def _run() -> backups.BackupResult:
        database = Database(settings.database_url)
        try:
            return await backups.take_backup(settings, database, datetime.now(UTC), to)
        finally:
            await database.dispose()

    try:
        result = asyncio.run(_run())
    except backups.PgToolMissing as missing:
        _print_command(missing)
    except (backups.BackupError, OSError) as exc:
        fail(f"backup failed: {exc}", 1)
    suffix = f" (revision {result.revision})" if result.revision else ""
    typer.echo(f"backup written to {result.path}{suffix}")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file made by `carebot db backup`.")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Replace the database even though it holds data.")
    ] = False,
) -> None:
    """Replace the database with a backup (stop the bot first).

    The file is checked first: anything that is not a carebot database is refused before the
    database is touched. A database that holds data is only replaced with --yes.
    """
    settings = settings_or_exit()

    async def _run() -> str:
        database = Database(settings.database_url)
        try:
            return await backups.restore(settings, database, file, yes=yes)
        finally:
            await database.dispose()

    try:
        revision = asyncio.run(_run())
    except backups.PgToolMissing as missing:
        _print_command(missing)
    except (backups.BackupError, OSError) as exc:
        fail(f"restore refused: {exc}", 1)
    typer.echo(f"restored {file} (revision {revision}); run `carebot db upgrade` if it is older")


def _print_command(missing: backups.PgToolMissing) -> NoReturn:
    """pg_dump / pg_restore is not installed here: the exact command to run where it is."""
    typer.echo(f"{missing}. Run it where it is installed (PGPASSWORD=... if needed):")
    typer.echo(f"  {missing.command.shell()}")
    raise typer.Exit(1)
