"""What every command shares: settings loading that fails with one clear line and exit 2."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from care.runtime.settings import Settings, SettingsError, load_settings

__all__ = ["fail", "progress_bar", "settings_or_exit"]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `message` to stderr and exit with `code` (2 = wrong configuration or usage)."""
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        fail(f"configuration error: {exc}")


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
