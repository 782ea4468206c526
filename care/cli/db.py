"""`carebot db`: create or upgrade the schema, show the current revision."""

from __future__ import annotations

import asyncio

import typer

from care.cli.common import settings_or_exit
from storage import Database

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


@app.command()
def current() -> None:
    """Print the schema revision the database is at (empty when never upgraded)."""
    settings = settings_or_exit()

    async def _run() -> str | None:
        database = Database(settings.database_url)
        try:
            return await database.current_revision()
        finally:
            await database.dispose()

    typer.echo(asyncio.run(_run()) or "(no schema yet: run `carebot db upgrade`)")
