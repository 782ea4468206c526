"""Dispatcher middlewares: in-flight tracking, observability, hot reload, one database
transaction per update, webhook deduplication."""

from __future__ import annotations

from bot.middlewares.dedup import RedisDedupMiddleware, TransactionalDedupMiddleware, UpdateBusy
from bot.middlewares.inflight import InFlightMiddleware
from bot.middlewares.observe import ObserveMiddleware
from bot.middlewares.reload import ReloadMiddleware
from bot.middlewares.unit_of_work import UnitOfWorkMiddleware

__all__ = [
    "InFlightMiddleware",
    "ObserveMiddleware",
    "RedisDedupMiddleware",
    "ReloadMiddleware",
    "TransactionalDedupMiddleware",
    "UnitOfWorkMiddleware",
    "UpdateBusy",
]
