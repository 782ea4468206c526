"""Hot reload: before each update, pick up edited catalog, script and forbidden-list files.

The check is an mtime poll rate-limited inside each component, so it costs a clock
read on almost every update; a broken file keeps the last good version in service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from care.services import Services

__all__ = ["ReloadMiddleware"]


class ReloadMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        services: Services = data["services"]
        services.reload_if_changed()
        return await handler(event, data)
