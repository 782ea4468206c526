"""One database session per update: committed once on success, rolled back on error.

Handlers may queue ``after_commit`` callbacks (data key) that run once the commit succeeded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from care.runtime.services import Services

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
        # Work that must see this update's rows committed (the staff outbox posts from its
        # own transaction) is queued here by handlers and started only after the commit.
        after_commit: list[Callable[[], None]] = []
        data["after_commit"] = after_commit
        async with services.unit_of_work() as repos:
            data["repos"] = repos
            result = await handler(event, data)
        for callback in after_commit:
            callback()
        return result
