"""Building the Bot and the Dispatcher from settings and services."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage

from bot.middlewares import InFlightMiddleware, ReloadMiddleware, UnitOfWorkMiddleware
from bot.routers import build_root_router
from care.services import Services
from care.settings import Settings

__all__ = ["build_bot", "build_dispatcher"]


def build_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """A Bot for the configured token, talking to `TELEGRAM_API_URL` when set."""
    if session is None:
        session = (
            AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
            if settings.telegram_api_url
            else AiohttpSession()
        )
    token = settings.require_token().get_secret_value()
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


def build_dispatcher(services: Services, storage: BaseStorage | None = None) -> Dispatcher:
    """The dispatcher with every router and middleware; `services` is workflow data."""
    inflight = InFlightMiddleware()
    dispatcher = Dispatcher(
        storage=storage or MemoryStorage(), services=services, inflight=inflight
    )
    dispatcher.update.outer_middleware(inflight)
    dispatcher.update.outer_middleware(ReloadMiddleware())
    dispatcher.update.outer_middleware(UnitOfWorkMiddleware())
    dispatcher.include_router(build_root_router())
    return dispatcher
