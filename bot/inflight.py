"""Counting updates in progress, so shutdown can wait for them instead of cutting them off.

aiogram's polling stops fetching on SIGTERM but does not wait for handler tasks it
already started; without this an update could be half-handled (reply sent, commit
lost) at every deploy.

An update counts from the moment it is fed to the dispatcher (`CareDispatcher.feed_update`),
not from inside the middleware chain: a customer's second message waits for the first to
release the chat's lock (FSM event isolation, an outer middleware aiogram installs before any
of ours), and a drain that did not see it waiting would let the process exit with an update
that Telegram already considers delivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update

__all__ = ["CareDispatcher", "InFlight"]


class InFlight:
    """How many updates are being handled (including waiting for their chat's turn)."""

    def __init__(self) -> None:
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def active(self) -> int:
        return self._active

    @asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:
        """Wait until no update is in progress; False if `timeout` seconds were not enough."""
        if self._idle.is_set():
            return True  # even with timeout 0, which asyncio.wait_for would count as expired
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class CareDispatcher(Dispatcher):
    """aiogram's Dispatcher that counts every update it is fed (polling and webhook alike)
    in the `InFlight` it keeps as workflow data ``inflight``."""

    def __init__(self, **kwargs: Any) -> None:
        inflight = kwargs.setdefault("inflight", InFlight())
        super().__init__(**kwargs)
        self.inflight: InFlight = inflight

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        async with self.inflight.track():
            return await super().feed_update(bot, update, **kwargs)
