"""Telegram edge: aiogram routers, middlewares, delivery, the console demo and the runners."""

from __future__ import annotations

from bot.app import build_bot, build_dispatcher
from bot.local_session import LocalSession

__all__ = ["LocalSession", "build_bot", "build_dispatcher"]
