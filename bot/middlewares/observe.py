"""Per-update observability: log context (update id, chat), latency, outcome and in-flight gauge.

Outer middleware placed before the unit of work, so the measured latency includes the commit -
the time Telegram actually waits for its answer in webhook mode.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

from care.runtime.logs import log_context
from care.runtime.services import Services

__all__ = ["ObserveMiddleware"]


class ObserveMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        services: Services = data["services"]
        metrics = services.metrics
        update_id = event.update_id if isinstance(event, Update) else None
        chat = data.get("event_chat")
        started = time.perf_counter()
        metrics.in_flight.inc()
        outcome = "error"
        try:
            with log_context(update_id=update_id, chat_id=getattr(chat, "id", None)):
                result = await handler(event, data)
            outcome = "ignored" if result is UNHANDLED else "ok"
            return result
        finally:
            metrics.in_flight.dec()
            metrics.update_latency.observe(time.perf_counter() - started)
            metrics.updates.labels(outcome).inc()
