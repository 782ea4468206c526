"""Dispatcher middlewares: observability, one database transaction per
update, webhook deduplication (hot reload is a background watcher: `care.runtime.periodic`)."""

from __future__ import annotations

from bot.middlewares.dedup import RedisDedupMiddleware, TransactionalDedupMiddleware, UpdateBusy
from bot.middlewares.observe import ObserveMiddleware
from bot.middlewares.unit_of_work import UnitOfWorkMiddleware

__all__ = [
    "ObserveMiddleware",
    "RedisDedupMiddleware",
    "TransactionalDedupMiddleware",
    "UnitOfWorkMiddleware",
    "UpdateBusy",
]
