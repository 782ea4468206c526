"""Driving the real dispatcher in tests: updates in, recorded Bot API calls out."""

from __future__ import annotations

import html
import re
from typing import Any

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import Update

from bot import LocalSession, build_dispatcher
from care.runtime.services import Services
from tests.fakes.updates import callback_update, text_update

_TAG = re.compile(r"<[^>]+>")


class Chat:
    """One customer talking to the bot through `dp.feed_update` and a recording session."""

    def __init__(self, services: Services, user_id: int = 501, first_name: str = "Mei") -> None:
        self.session = LocalSession()
        self.bot = Bot("42:TEST", session=self.session)
        self.dispatcher = build_dispatcher(services)
        self.user_id = user_id
        self.first_name = first_name

    async def feed(self, update: dict[str, Any]) -> list[SendMessage]:
        before = len(self.session.requests)
        await self.dispatcher.feed_update(self.bot, Update.model_validate(update))
        return [m for m in self.session.requests[before:] if isinstance(m, SendMessage)]

    async def say(self, text: str, **kwargs: Any) -> list[SendMessage]:
        kwargs.setdefault("first_name", self.first_name)
        return await self.feed(text_update(self.user_id, text, **kwargs))

    async def press(self, data: str) -> list[SendMessage]:
        return await self.feed(callback_update(self.user_id, data, message_id=1))

    async def close(self) -> None:
        await self.bot.session.close()


def plain(message: SendMessage) -> str:
    """What the customer reads: tags removed, entities unescaped."""
    return html.unescape(_TAG.sub("", message.text))
