"""`carebot webhook serve | set URL | delete | info | scheduler`: webhook mode from the shell."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import typer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from bot.app import build_bot, build_dispatcher
from bot.runners.webhook import run_leader_only, serve
from care.cli.common import fail, settings_or_exit
from care.runtime.logs import configure_logging
from care.runtime.services import build_services
from care.runtime.settings import Settings, SettingsError
from intents import CatalogError
from scripts import LibraryError

__all__ = ["app"]

app = typer.Typer(
    help="Webhook mode: serve workers, register the URL with Telegram.", no_args_is_help=True
)


def _settings() -> Settings:
    settings = settings_or_exit()
    root = logging.getLogger()
    configure_logging(logging.getLevelName(root.level), settings.log_format)
    return settings


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Bind address (default WEBHOOK_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default WEBHOOK_PORT).")] = None,
    upgrade: Annotated[bool, typer.Option(help="Apply database migrations at start.")] = True,
    scheduler: Annotated[
        bool, typer.Option(help="Campaign for the leader lock and run scheduled jobs when won.")
    ] = True,
) -> None:
    """Run one webhook worker (aiohttp); put several behind nginx (docs/deploy.md)."""
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["webhook_host"] = host
    if port is not None:
        overrides["webhook_port"] = port
    settings = _settings().model_copy(update=overrides)
    try:
        settings.require_token()
        if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
            raise SettingsError(
                "WEBHOOK_SECRET is not set: any string of 1-256 characters A-Z a-z 0-9 _ -; "
                "Telegram sends it back in every request"
            )
        asyncio.run(serve(settings, upgrade=upgrade, leader=scheduler))
    except SettingsError as exc:
        fail(f"configuration error: {exc}")
    except (CatalogError, LibraryError) as exc:
        fail(f"content error: {exc}")
    except KeyboardInterrupt:
        pass


@app.command("scheduler")
def scheduler_command() -> None:
    """Run only the scheduler: campaign for the leader lock, run scheduled jobs while leader."""
    settings = _settings()
    try:
        asyncio.run(run_leader_only(settings))
    except (CatalogError, LibraryError) as exc:
        fail(f"content error: {exc}")
    except KeyboardInterrupt:
        pass


@app.command("set")
def set_command(
    url: Annotated[str, typer.Argument(help="Public HTTPS URL Telegram should POST to.")],
    max_connections: Annotated[int, typer.Option(help="Parallel connections (1-100).")] = 40,
    drop_pending: Annotated[bool, typer.Option(help="Discard queued updates.")] = False,
) -> None:
    """Register the webhook URL with Telegram (with WEBHOOK_SECRET and the used update types)."""
    settings = _settings()
    if settings.webhook_secret is None:
        fail("configuration error: WEBHOOK_SECRET is not set")

    async def _run() -> None:
        services = build_services(settings)
        bot = build_bot(settings)
        try:
            used = build_dispatcher(services).resolve_used_update_types()
            await bot.set_webhook(
                url,
                secret_token=settings.webhook_secret.get_secret_value(),  # type: ignore[union-attr]
                allowed_updates=used,
                max_connections=max_connections,
                drop_pending_updates=drop_pending,
            )
        finally:
            await bot.session.close()
            await services.aclose()

    _telegram(_run)
    typer.echo(f"webhook set to {url}")


@app.command("delete")
def delete_command(
    drop_pending: Annotated[bool, typer.Option(help="Discard queued updates.")] = False,
) -> None:
    """Remove the webhook (e.g. to go back to `carebot run`, long polling)."""
    settings = _settings()

    async def _run() -> None:
        bot = build_bot(settings)
        try:
            await bot.delete_webhook(drop_pending_updates=drop_pending)
        finally:
            await bot.session.close()

    _telegram(_run)
    typer.echo("webhook deleted")


@app.command("info")
def info_command() -> None:
    """Show what Telegram knows about the webhook: URL, pending updates, last error."""
    settings = _settings()

    async def _run() -> None:
        bot = build_bot(settings)
        try:
            info = await bot.get_webhook_info()
        finally:
            await bot.session.close()
        typer.echo(f"url: {info.url or '(none: long polling)'}")
        typer.echo(f"pending updates: {info.pending_update_count}")
        typer.echo(f"max connections: {info.max_connections}")
        typer.echo(f"allowed updates: {', '.join(info.allowed_updates or []) or '(all)'}")
        if info.last_error_message:
            typer.echo(f"last error: {info.last_error_message} (at {info.last_error_date})")

    _telegram(_run)


def _telegram(run: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a Bot API coroutine function; configuration and API errors are one line, exit 2."""
    try:
        asyncio.run(run())
    except SettingsError as exc:
        fail(f"configuration error: {exc}")
    except (TelegramAPIError, TelegramNetworkError) as exc:
        fail(f"Telegram error: {exc}")
