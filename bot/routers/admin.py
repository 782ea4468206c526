"""Managers' campaign console: `/campaigns` and its inline buttons (``adm:...``).

Thin on purpose: `care.outreach.admin.CampaignAdmin` checks ADMIN_IDS, does the work and returns the
screen; these handlers only parse the update and show the `Reply` (navigation edits the
console message in place, so one chat message is the console and later the progress card).
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.filters import Awaited
from bot.keyboards import keyboard_for
from care.outreach.admin import CALLBACK_PREFIX, CampaignAdmin
from care.runtime.services import Services

__all__ = ["create_router"]

log = logging.getLogger("carebot.admin")


async def on_campaigns(message: Message, services: Services) -> None:
    user_id = message.from_user.id if message.from_user else None
    reply = await CampaignAdmin(services).home(user_id)
    await message.answer(reply.text, parse_mode="HTML", reply_markup=keyboard_for(reply))


async def on_console_button(query: CallbackQuery, services: Services) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return  # the console message is too old to be edited (inaccessible)
    reply = await CampaignAdmin(services).press(
        query.from_user.id,
        query.data or "",
        chat_id=message.chat.id,
        message_id=message.message_id,
    )
    try:
        await message.edit_text(reply.text, parse_mode="HTML", reply_markup=keyboard_for(reply))
    except TelegramBadRequest as exc:
        # "message is not modified": a refresh with nothing new is not an error.
        if "not modified" not in exc.message:
            raise


def create_router() -> Router:
    """A fresh router per dispatcher (a router can be attached only once)."""
    router = Router(name=__name__)
    router.message.register(on_campaigns, Command("campaigns"))
    router.callback_query.register(on_console_button, Awaited(F.data.startswith(CALLBACK_PREFIX)))
    return router
