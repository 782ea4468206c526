"""Counting updates in progress, so shutdown can wait for them instead of cutting them off.

aiogram's polling stops fetching on SIGTERM but does not wait for handler tasks it
already started; without this an update could be half-handled (reply sent, commit
lost) at every deploy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

__all__ = ["InFlightMiddleware"]


class InFlightMiddleware(BaseMiddleware):
    """Outermost update middleware: tracks how many updates are being handled."""

    def __init__(self) -> None:
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def active(self) -> int:
        return self._active

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._active += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait until no update is in progress; False if `timeout` seconds were not enough."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
