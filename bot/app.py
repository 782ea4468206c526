"""Building the Bot and the Dispatcher from settings and services."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage, SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

from bot.inflight import CareDispatcher
from bot.middlewares import (
    ObserveMiddleware,
    RedisDedupMiddleware,
    TransactionalDedupMiddleware,
    UnitOfWorkMiddleware,
)
from bot.routers import build_root_router
from bot.staff.auth import StaffAuth
from bot.staff.gateway import StaffGateway
from care.runtime.dedup import RedisUpdateLedger
from care.runtime.services import Services
from care.runtime.settings import Settings

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


def build_dispatcher(
    services: Services, storage: BaseStorage | None = None, *, dedup: bool = False
) -> CareDispatcher:
    """The dispatcher with every router and middleware; `services` is workflow data.

    With `services.redis` the FSM lives in Redis and updates of one chat are processed one at a
    time across all workers (RedisEventIsolation); otherwise in memory (one process). `dedup`
    (webhook mode) skips update ids already committed, in Redis or in the database.
    """
    # One process without Redis still handles one chat's updates one at a time, in order:
    # polling runs updates as concurrent tasks, and a customer's second message must not
    # overtake the first (flood control and ticket reuse depend on it).
    isolation: BaseEventIsolation = SimpleEventIsolation()
    if services.redis is not None:
        settings = services.settings
        keys = DefaultKeyBuilder(prefix=f"{settings.redis_prefix}:fsm")
        storage = storage or _SharedRedisStorage(services.redis, key_builder=keys)
        # The lock expires after chat_lock_seconds (a dead worker blocks its chats no longer);
        # waiting for it is bounded too, so a stuck chat fails the update (5xx, retried later).
        isolation = RedisEventIsolation(
            services.redis,
            key_builder=keys,
            lock_kwargs={
                "timeout": settings.chat_lock_seconds,
                "blocking_timeout": settings.chat_lock_seconds + 5,
            },
        )
    dispatcher = CareDispatcher(
        storage=storage or MemoryStorage(),
        events_isolation=isolation,
        services=services,
        # Staff forum: the outbox-backed gateway and the membership check (one per dispatcher).
        staff_gateway=StaffGateway(services),
        staff_auth=StaffAuth(services),
    )
    dispatcher.update.outer_middleware(ObserveMiddleware())
    if dedup and services.redis is not None:
        lease = services.settings.chat_lock_seconds  # a dead worker's claim expires with its lock
        ledger = RedisUpdateLedger(
            services.redis,
            lease_seconds=lease,
            prefix=f"{services.settings.redis_prefix}:update:",
        )
        dispatcher.update.outer_middleware(RedisDedupMiddleware(ledger))
    dispatcher.update.outer_middleware(UnitOfWorkMiddleware())
    if dedup and services.redis is None:
        dispatcher.update.outer_middleware(TransactionalDedupMiddleware())
    dispatcher.include_router(build_root_router())
    return dispatcher


class _SharedRedisStorage(RedisStorage):
    """RedisStorage on the `Services` client: the dispatcher's shutdown must not close a client
    that the leader loop and the health checks still use (`Services.aclose` closes it)."""

    async def close(self) -> None:
        return None
