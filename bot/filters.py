"""Router filters that aiogram awaits in place: every filter the routers register is one.

aiogram runs a synchronous filter callable - and a bare magic filter (``F...``) resolves
synchronously - in a worker thread (`asyncio.to_thread`), so each such filter costs a thread
hop on every update it sees (measured in the load benchmark's profile: the biggest item of
dispatch). An async `Filter` is awaited in place; `Awaited` wraps a magic filter in one, and
tests/bot/test_filters.py checks that no router registers anything else.
"""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.magic_filter import MagicFilter

__all__ = ["Awaited", "InPrivateChat"]


class Awaited(Filter):
    """A magic filter, resolved on the event without a thread hop (same truthiness, and a
    dict result still injects its values like aiogram's own magic-filter handling)."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


class InPrivateChat(Filter):
    """A message in, or a button under a message in, a private chat with the bot."""

    async def __call__(self, event: Message | CallbackQuery) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        return isinstance(message, Message) and message.chat.type == "private"
