"""Dispatcher middlewares: in-flight tracking, observability, one database transaction per
update, webhook deduplication (hot reload is a background watcher: `care.periodic`)."""

from __future__ import annotations

from bot.middlewares.dedup import RedisDedupMiddleware, TransactionalDedupMiddleware, UpdateBusy
from bot.middlewares.inflight import InFlightMiddleware
from bot.middlewares.observe import ObserveMiddleware
from bot.middlewares.unit_of_work import UnitOfWorkMiddleware

__all__ = [
    "InFlightMiddleware",
    "ObserveMiddleware",
    "RedisDedupMiddleware",
    "TransactionalDedupMiddleware",
    "UnitOfWorkMiddleware",
    "UpdateBusy",
]
