"""Bot-test fixtures: a chat with the real dispatcher, the loopback fake Bot API, a sender."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.broadcast import telegram_send
from bot.transports.bot_api import BotApiTransport
from care.outreach.sender import OutgoingMessage
from care.runtime.services import Services
from tests.bot.chat import Chat
from tests.fakes.bot_api import FakeBotAPI

TOKEN = "42:TEST"
Send = Callable[[OutgoingMessage], Awaitable[int]]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN) as server:
        yield server


@pytest.fixture(params=["lean", "aiogram"])
async def send(request: pytest.FixtureRequest, api: FakeBotAPI) -> AsyncIterator[Send]:
    """`send(OutgoingMessage) -> message id` through the lean transport, then through aiogram."""
    if request.param == "lean":
        transport = BotApiTransport(TOKEN, api.base_url, timeout_seconds=5)
        try:
            yield transport.send
        finally:
            await transport.aclose()
    else:
        bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
        try:
            yield telegram_send(bot)
        finally:
            await bot.session.close()


@pytest.fixture
async def chat(services: Services) -> AsyncIterator[Chat]:
    """A private chat with the real dispatcher (updates in, recorded Bot API calls out)."""
    talk = Chat(services)
    try:
        yield talk
    finally:
        await talk.close()
