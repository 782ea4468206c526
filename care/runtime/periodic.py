"""Periodic background jobs of a bot process (housekeeping, the SLA watcher, the content watch).

`start_periodic` runs one coroutine function every few seconds in its own task until the
returned stop function is awaited. A failed round is logged and retried next time: a
background helper must never die (or take the process down) over one bad pass. Stopping
lets a round in progress finish (its side effects - a posted alert, a committed row - are
not cut in half) and only cancels it past a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["start_periodic"]

log = logging.getLogger("carebot.periodic")


def start_periodic(
    name: str,
    every: float,
    job: Callable[[], Awaitable[object]],
    *,
    stop_timeout: float = 10.0,
) -> Callable[[], Awaitable[None]]:
    """Run ``job`` at once and then every ``every`` seconds; returns how to stop it."""
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await job()
            except Exception:  # logged with the traceback; the next round tries again
                log.exception("%s: round failed", name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    task = asyncio.create_task(loop(), name=f"carebot-{name}")

    async def stop_it() -> None:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), stop_timeout)
        except TimeoutError:
            log.error("%s did not stop within %ss; cancelled", name, stop_timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return stop_it
