"""The `carebot` console script: the care CLI plus the commands that run the bot.

Imports of aiogram-based modules are lazy (inside the commands, and the `webhook` group is
loaded on first use): aiogram alone costs ~165 MB RSS, and `carebot campaign send` is a
broadcast worker that must stay under 200 MB without it (see `bot.transports.bot_api`).
The runtime services, the intent engine and the scripts are imported by the commands that
use them too, and the care topics load on first use (`care.cli.LazyGroup`), so a command
like `carebot report` starts without them.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from care.cli import EXTENSIONS, app
from care.cli.common import fail, settings_or_exit
from care.runtime.settings import SettingsError, async_database_url

__all__ = ["app", "main"]

if "bot.cli.campaign" not in (campaign := EXTENSIONS.setdefault("campaign", [])):
    campaign.append("bot.cli.campaign")  # adds `campaign send` (aiogram-free)


class _LazyWebhookGroup(TyperGroup):
    """`carebot webhook ...`: the real commands (aiogram-based) are imported on first use;
    the top-level help lists the group from its help text alone."""

    def _load(self) -> None:
        if not self.commands:
            real = typer.main.get_group(importlib.import_module("bot.cli.webhook").app)
            self.commands.update(real.commands)

    def list_commands(self, ctx: Any) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        self._load()
        return super().get_command(ctx, cmd_name)


app.add_typer(
    typer.Typer(no_args_is_help=True),
    name="webhook",
    cls=_LazyWebhookGroup,
    help="Webhook mode: serve workers, register the URL with Telegram.",
)


@app.command()
def run() -> None:
    """Run the bot against real Telegram with long polling (needs BOT_TOKEN)."""
    settings = settings_or_exit()
    try:
        settings.require_token()
    except SettingsError as exc:
        fail(f"configuration error: {exc}")
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
    from aiogram.utils.token import TokenValidationError

    from bot.runners.polling import run_polling
    from intents import CatalogError
    from scripts import LibraryError

    api = settings.telegram_api_url or "https://api.telegram.org"
    try:
        asyncio.run(run_polling(settings))
    except TokenValidationError:
        fail("configuration error: BOT_TOKEN is not a bot token (copy it from @BotFather)")
    except TelegramUnauthorizedError:
        fail("configuration error: Telegram refused BOT_TOKEN (revoked or mistyped?)")
    except TelegramNetworkError as exc:
        why = " ".join(str(exc).split())
        fail(f"cannot reach Telegram at {api}: {why} (check the network or TELEGRAM_API_URL)")
    except (CatalogError, LibraryError) as exc:
        fail(f"content error: {exc}")
    except KeyboardInterrupt:
        pass


@app.command()
def demo(
    database: str | None = typer.Option(
        None,
        "--database",
        help="Database URL for the demo; default: its own demo.db in the data folder.",
    ),
    trace: bool = typer.Option(
        False,
        "--trace",
        help="After each turn print the intent, score, act, flow, state and ticket.",
    ),
) -> None:
    """Chat with the bot in this terminal as a customer (no token needed).

    Same catalog and scripts as the real bot, but its own database (`demo.db` in the data
    folder), so the demo customer never shows up in campaigns or `tickets list`.  Type a
    button's number to press it.  Piped input: one message per line, exits at end of input.
    """
    settings = settings_or_exit()
    url = database or f"sqlite+aiosqlite:///{settings.data_dir / 'demo.db'}"
    try:
        settings = settings.model_copy(update={"database_url": async_database_url(url)})
    except ValueError as exc:
        fail(f"--database: {exc}")

    from bot.transports.console import ConsoleChat
    from care.runtime.services import build_services
    from intents import CatalogError
    from scripts import LibraryError

    async def _chat() -> None:
        services = build_services(settings)
        try:
            await services.database.upgrade()
            interactive = sys.stdin.isatty()
            # Bytes that are not UTF-8 become U+FFFD instead of ending the demo.
            reconfigure = getattr(sys.stdin, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(encoding="utf-8", errors="replace")
            lines = iter(sys.stdin.readline, "")
            await ConsoleChat(services, sys.stdout, trace=trace).run(lines, interactive=interactive)
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
