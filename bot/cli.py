"""The `carebot` console script: the care CLI plus the commands that run the bot."""

from __future__ import annotations

import asyncio
import sys

import typer

from bot import campaign_cli  # noqa: F401  (adds `campaign send`)
from bot.console import ConsoleChat
from bot.polling import run_polling
from bot.webhook_cli import app as webhook_app
from care.cli import app
from care.cli.common import fail, settings_or_exit
from care.services import build_services
from care.settings import SettingsError
from intents import CatalogError
from scripts import LibraryError

__all__ = ["app", "main"]


app.add_typer(webhook_app, name="webhook")


@app.command()
def run() -> None:
    """Run the bot against real Telegram with long polling (needs BOT_TOKEN)."""
    settings = settings_or_exit()
    try:
        settings.require_token()
        asyncio.run(run_polling(settings))
    except SettingsError as exc:
        fail(f"configuration error: {exc}")
    except (CatalogError, LibraryError) as exc:
        fail(f"content error: {exc}")
    except KeyboardInterrupt:
        pass


@app.command()
def demo() -> None:
    """Chat with the bot in this terminal as a customer (no token needed).

    Same database, catalog and scripts as the real bot.  Type a button's number to
    press it.  Piped input: one message per line, exits at end of input.
    """
    settings = settings_or_exit()

    async def _chat() -> None:
        services = build_services(settings)
        try:
            await services.database.upgrade()
            interactive = sys.stdin.isatty()
            lines = iter(sys.stdin.readline, "")
            await ConsoleChat(services, sys.stdout).run(lines, interactive=interactive)
        finally:
            await services.aclose()

    try:
        asyncio.run(_chat())
    except (CatalogError, LibraryError) as exc:
        fail(f"content error: {exc}")
    except KeyboardInterrupt:
        typer.echo("")


def main() -> None:
    app()
