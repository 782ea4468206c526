"""`carebot run`: long polling against Telegram (or `TELEGRAM_API_URL`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.app import build_bot, build_dispatcher
from bot.runners.runtime import BotRuntime
from care.runtime.services import build_services
from care.runtime.settings import Settings

__all__ = ["NO_STAFF_GROUP_WARNING", "run_polling"]

log = logging.getLogger("carebot.polling")

#: What `carebot run` says at start without a staff group, so nobody expects live hand-offs.
NO_STAFF_GROUP_WARNING = (
    "STAFF_CHAT_ID is not set, so there is no staff group: customers who ask for a person "
    "are told the team will reply in their chat by the deadline (no live transfer), and "
    "every message is still recorded on its ticket (carebot tickets list / show). Set "
    "STAFF_CHAT_ID to a forum supergroup to take conversations over live."
)


async def run_polling(
    settings: Settings, *, handle_signals: bool = True, stop: asyncio.Event | None = None
) -> None:
    """Upgrade the database, then poll until SIGINT/SIGTERM (or `stop` is set).

    The helpers (leader duties, content watch, staff outbox) are `BotRuntime`'s, exactly as
    in webhook mode. Shutdown is graceful: polling stops fetching, updates in progress finish
    and commit, the staff queue drains, then the database and HTTP session are closed.
    """
    bot = build_bot(settings)
    services = build_services(settings)
    dispatcher = build_dispatcher(services)
    runtime = BotRuntime(bot, services, dispatcher)
    try:
        await services.database.upgrade()
        me = await bot.get_me()
        log.warning("carebot is running as @%s (Ctrl+C to stop)", me.username)
        if settings.staff_chat_id is None:
            log.warning(NO_STAFF_GROUP_WARNING)
        runtime.start()
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
    finally:
        await runtime.aclose()


async def _stop_when_set(stop: asyncio.Event, stop_polling: Callable[[], Awaitable[None]]) -> None:
    await stop.wait()
    with contextlib.suppress(RuntimeError):  # polling already stopped on its own
        await stop_polling()
