"""What every command shares: settings loading that fails with one clear line and exit 2."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from care.runtime.settings import Settings, SettingsError, load_settings
from storage import Database

__all__ = ["fail", "progress_bar", "settings_or_exit"]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `message` to stderr and exit with `code` (2 = wrong configuration or usage)."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def settings_or_exit(*, existing_database: bool = False, **overrides: Any) -> Settings:
    """The settings, or one line and exit 2.

    ``existing_database``: the command reads data, so a SQLite file that is not there is an
    error naming where it was looked for - run from another folder, `tickets list` would
    otherwise create an empty database there and list nothing.
    """
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        fail(f"configuration error: {exc}")
    if existing_database:
        missing = Database(settings.database_url).sqlite_file
        if missing is not None and not missing.exists():
            fail(
                f"no database at {missing} (data folder {settings.data_dir}): set "
                "CAREBOT_DATA_DIR or DATABASE_URL, or create it with `carebot db upgrade`"
            )
    return settings


def progress_bar(console: Console, label: str) -> Progress:
    """A transient bar on ``console``: ``label`` (a Rich column format), bar, done/total, time."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
