"""Telegram edge: aiogram routers, middlewares, delivery, the console demo and the runners.

The public names are imported on first access (PEP 562): `bot.transports.bot_api` and
`carebot campaign send` must be importable without loading aiogram (~165 MB RSS).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import build_bot, build_dispatcher
    from bot.transports.local_session import LocalSession

__all__ = ["LocalSession", "build_bot", "build_dispatcher"]

_WHERE = {
    "LocalSession": "bot.transports.local_session",
    "build_bot": "bot.app",
    "build_dispatcher": "bot.app",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'bot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
