"""Keeping a lease alive while its holder works: a lock or claim that only a dead holder loses.

A lease with a fixed TTL has two jobs that pull apart: short, so that a killed worker's chats
and updates are free again soon; long, so that a live worker on a busy machine never outlives
it and has its update run a second time by another worker (a doubled reply). Renewing it every
third of its TTL while the work runs gives both: a live holder keeps it, a dead one loses it
one TTL after it died.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

__all__ = ["renewed"]

log = logging.getLogger("carebot.lease")


@contextlib.asynccontextmanager
async def renewed(
    renew: Callable[[], Awaitable[object]], ttl_seconds: float, what: str
) -> AsyncIterator[None]:
    """Call ``renew`` every ``ttl_seconds / 3`` while the body runs.

    ``renew`` returning ``False`` means the lease is already gone (it expired during a stall):
    that is logged once and renewal stops, since renewing someone else's lease is not ours to
    do. A failed call (Redis briefly unreachable) is logged and tried again next round.
    """

    async def keep() -> None:
        while True:
            await asyncio.sleep(ttl_seconds / 3)
            try:
                kept = await renew()
            except Exception as exc:
                log.warning("could not renew %s: %s", what, exc)
                continue
            if kept is False:
                log.warning("%s expired while still in use", what)
                return

    task = asyncio.create_task(keep(), name=f"renew {what}")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
