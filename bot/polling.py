"""`carebot run`: long polling against Telegram (or `TELEGRAM_API_URL`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.app import build_bot, build_dispatcher
from bot.care_runtime import start_care_scheduler
from bot.middlewares import InFlightMiddleware
from bot.staff_gateway import StaffGateway
from care.services import build_services
from care.settings import Settings

__all__ = ["run_polling"]

log = logging.getLogger("carebot.polling")

#: How long shutdown waits for updates already being handled.
DRAIN_SECONDS = 30.0


async def run_polling(
    settings: Settings, *, handle_signals: bool = True, stop: asyncio.Event | None = None
) -> None:
    """Upgrade the database, then poll until SIGINT/SIGTERM (or `stop` is set).

    Shutdown is graceful: polling stops fetching, updates in progress finish and
    commit, then the database and HTTP session are closed.
    """
    bot = build_bot(settings)
    services = build_services(settings)
    try:
        await services.database.upgrade()
        dispatcher = build_dispatcher(services)
        me = await bot.get_me()
        log.warning("carebot is running as @%s (Ctrl+C to stop)", me.username)
        care = start_care_scheduler(bot, services)  # runs only while this process leads
        gateway: StaffGateway = dispatcher["staff_gateway"]
        # SLA watcher: a periodic task (idempotent: each alert is said once, via the audit
        # trail, so running it in every polling process is harmless).
        sla = asyncio.create_task(gateway.sla_watcher(bot), name="carebot-sla-watcher")
        stopper = (
            asyncio.create_task(_stop_when_set(stop, dispatcher.stop_polling)) if stop else None
        )
        try:
            await dispatcher.start_polling(
                bot, handle_signals=handle_signals, close_bot_session=False
            )
        finally:
            if stopper is not None:
                stopper.cancel()
            care.cancel()
            sla.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await care
            with contextlib.suppress(asyncio.CancelledError):
                await sla
            inflight: InFlightMiddleware = dispatcher["inflight"]
            if not await inflight.drain(DRAIN_SECONDS):
                log.error(
                    "%d updates still running after %ss; stopping anyway",
                    inflight.active,
                    DRAIN_SECONDS,
                )
            await gateway.aclose()  # posts already queued for the staff group go out first
    finally:
        await services.aclose()
        await bot.session.close()


async def _stop_when_set(stop: asyncio.Event, stop_polling: Callable[[], Awaitable[None]]) -> None:
    await stop.wait()
    with contextlib.suppress(RuntimeError):  # polling already stopped on its own
        await stop_polling()
