"""A running bot (real dispatcher, polling) against the loopback fake Bot API with a staff forum."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from sqlmodel import select

from bot import build_bot, build_dispatcher
from bot.staff.gateway import StaffGateway
from care.runtime.services import Services, build_services
from care.runtime.settings import load_settings
from storage import Customer, Ticket
from tests.conftest import FakeClock
from tests.fakes import FakeBotAPI
from tests.fakes.bot_api import Call
from tests.fakes.updates import staff_group_update, text_update
from tests.progress import finish, wait_until

TOKEN = "42:TEST"
STAFF_CHAT = -1001234567890
STAFF_USER = 7001
SUPERVISOR = 7002
CUSTOMER = 9001


@dataclass
class StaffEnv:
    api: FakeBotAPI
    services: Services
    clock: FakeClock
    bot: Bot
    dispatcher: Dispatcher

    @property
    def gateway(self) -> StaffGateway:
        return self.dispatcher["staff_gateway"]  # type: ignore[no-any-return]

    async def say(self, text: str, user: int = CUSTOMER, **kw: Any) -> dict[str, Any]:
        kw.setdefault("first_name", "Liang")
        return self.api.push_update(text_update(user, text, **kw))

    async def staff(
        self, text: str | None, thread: int, user: int = STAFF_USER, **kw: Any
    ) -> dict[str, Any]:
        kw.setdefault("first_name", "Wang Fang")
        return self.api.push_update(
            staff_group_update(STAFF_CHAT, user, text, thread_id=thread, **kw)
        )

    async def wait(
        self, method: str, count: int = 1, timeout: float = 5.0, **match: Any
    ) -> list[Call]:
        def ok(call: Call) -> bool:
            return all(call.params.get(k) == v for k, v in match.items())

        return await self.api.wait_for(method, count, timeout, match=ok)

    def sent_to(self, chat_id: int, method: str = "sendMessage") -> list[Call]:
        return [c for c in self.api.calls_of(method) if c.params.get("chat_id") == chat_id and c.ok]

    async def settle(self, timeout: float = 5.0) -> None:
        """Let in-flight updates finish and the staff outbox empty.

        ``timeout`` is a stall window (tests/progress.py): slow is fine, stuck is not.
        """
        await wait_until(
            lambda: not (self.api.pending_updates or self.dispatcher["inflight"].active),
            "updates still pending",
            value=lambda: (len(self.api.pending_updates), len(self.api.calls)),
            stall=timeout,
        )
        await wait_until(
            lambda: self.gateway.outbox.drain(0.05),
            "staff outbox still has posts",
            value=lambda: len(self.api.calls),
            stall=timeout,
        )

    async def ticket(self, customer: int = CUSTOMER) -> Ticket:
        async with self.services.database.session() as session:
            owner = (
                await session.execute(select(Customer).where(Customer.telegram_id == customer))
            ).scalar_one()
            return (
                (await session.execute(select(Ticket).where(Ticket.customer_id == owner.id)))
                .scalars()
                .all()[-1]
            )

    async def customer(self, telegram_id: int = CUSTOMER) -> Customer:
        async with self.services.database.session() as session:
            return (
                await session.execute(select(Customer).where(Customer.telegram_id == telegram_id))
            ).scalar_one()

    async def escalate(self, text: str = "转人工", user: int = CUSTOMER) -> int:
        """Customer asks for a person; returns the new topic's thread id."""
        before = len(self.api.calls_of("createForumTopic"))
        await self.say(text, user=user)
        calls = await self.wait("createForumTopic", before + 1)
        await self.settle()
        return int(calls[-1].result["message_thread_id"])


@contextlib.asynccontextmanager
async def staff_env(
    tmp_path: Path, clock: FakeClock | None = None, **overrides: Any
) -> AsyncIterator[StaffEnv]:
    async with FakeBotAPI(token=TOKEN, max_poll_wait=0.2) as api:
        api.set_chat(
            {"id": STAFF_CHAT, "type": "supergroup", "title": "Care team", "is_forum": True}
        )
        api.set_member(STAFF_CHAT, STAFF_USER, "member")
        settings = load_settings(
            bot_token=TOKEN,
            telegram_api_url=api.base_url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'staff.db'}",
            staff_chat_id=STAFF_CHAT,
            business_name="Carebot Test Shop",
            **{"staff": {"supervisors": [SUPERVISOR], **overrides.pop("staff", {})}, **overrides},
        )
        clock = clock or FakeClock()
        services = build_services(settings, clock=clock)
        await services.database.upgrade()
        bot = build_bot(settings)
        dispatcher = build_dispatcher(services)
        polling = asyncio.create_task(
            dispatcher.start_polling(
                bot, handle_signals=False, close_bot_session=False, polling_timeout=1
            )
        )
        env = StaffEnv(api, services, clock, bot, dispatcher)
        try:
            yield env
        finally:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            await finish(polling, "polling to stop")
            # handlers still committing
            await wait_until(lambda: dispatcher["inflight"].drain(0.05), "in-flight updates")
            await env.gateway.aclose(timeout=5)
            await services.aclose()
            await bot.session.close()
