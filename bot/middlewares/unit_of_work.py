"""One database session per update: committed once on success, rolled back on error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from care.services import Services

__all__ = ["UnitOfWorkMiddleware"]


class UnitOfWorkMiddleware(BaseMiddleware):
    """Outer update middleware: puts `repos` into the handler data."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        services: Services = data["services"]
        async with services.unit_of_work() as repos:
            data["repos"] = repos
            return await handler(event, data)
