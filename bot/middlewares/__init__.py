"""Dispatcher middlewares: in-flight tracking, hot reload, one database transaction per update."""

from __future__ import annotations

from bot.middlewares.inflight import InFlightMiddleware
from bot.middlewares.reload import ReloadMiddleware
from bot.middlewares.unit_of_work import UnitOfWorkMiddleware

__all__ = ["InFlightMiddleware", "ReloadMiddleware", "UnitOfWorkMiddleware"]
