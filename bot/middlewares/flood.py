"""Per-customer flood control on private messages: over the limit, one polite notice, then quiet.

The decision (sliding window, when to notify) is `care.desk.staff.StaffDesk.flood_check`; this
middleware only stops the update and sends the notice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

from care.runtime.services import Services
from care.uow import Repos

__all__ = ["FloodMiddleware"]


class FloodMiddleware(BaseMiddleware):
    """Inner message middleware of the customers router."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message) or event.from_user is None:
            return await handler(event, data)
        services: Services = data["services"]
        repos: Repos = data["repos"]
        telegram_id = event.from_user.id
        # Start the update's transaction before judging (no extra statement: the handler
        # would begin it anyway). On SQLite that takes the write lock, so one customer's
        # concurrent updates are judged in the order they then run and commit - the notice
        # follows the replies to the messages before it.
        await repos.session.connection()

        async def language() -> str:
            # Only for the notice: a lookup per message would be a query on every update.
            customer = await repos.customers.get_by_telegram_id(telegram_id)
            return customer.language if customer else services.settings.default_language

        process, notice = await services.staff.flood_check(telegram_id, language)
        if process:
            return await handler(event, data)
        if notice is not None:
            await data["bot"].send_message(event.chat.id, notice.text)
        return None
