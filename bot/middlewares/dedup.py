"""Deduplicating webhook updates by ``update_id``, so Telegram's retries never reply twice.

Two placements, because "done" must mean "committed":

* `TransactionalDedupMiddleware` (no Redis) runs *inside* the unit of work and inserts the
  update id in the same transaction as the update's effects: a rollback takes the mark with it.
* `RedisDedupMiddleware` runs *outside* the unit of work: it claims the id before, marks it done
  after the commit, and releases the claim when handling failed.

A duplicate is acknowledged without being handled (the handler chain is not called).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from care.runtime.dedup import ClaimState, RedisUpdateLedger
from care.runtime.services import Services
from care.uow import Repos
from storage import UpdateLedgerRepo

__all__ = ["RedisDedupMiddleware", "TransactionalDedupMiddleware", "UpdateBusy"]

log = logging.getLogger("carebot.dedup")


class UpdateBusy(Exception):
    """Another worker is handling this update right now; the webhook answers 503 (retry later)."""


def _duplicate(services: Services, update_id: int) -> None:
    log.info("update %d already processed: acknowledged without handling", update_id)
    services.metrics.updates.labels("duplicate").inc()


class TransactionalDedupMiddleware(BaseMiddleware):
    """Inner to `UnitOfWorkMiddleware`: the processed-mark commits with the update's writes."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        repos: Repos = data["repos"]
        services: Services = data["services"]
        if not await UpdateLedgerRepo(repos.session).claim(event.update_id, services.clock()):
            _duplicate(services, event.update_id)
            return None
        return await handler(event, data)


class RedisDedupMiddleware(BaseMiddleware):
    """Outer to `UnitOfWorkMiddleware`: claim, handle (and commit), then mark done."""

    def __init__(self, ledger: RedisUpdateLedger) -> None:
        self.ledger = ledger

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        services: Services = data["services"]
        state, token = await self.ledger.claim(event.update_id)
        if state is ClaimState.DONE:
            _duplicate(services, event.update_id)
            return None
        if state is ClaimState.BUSY:
            raise UpdateBusy(f"update {event.update_id} is being handled by another worker")
        try:
            result = await handler(event, data)
        except BaseException:
            await self.ledger.release(event.update_id, token)
            raise
        await self.ledger.done(event.update_id)
        return result
