"""The Telegram side of the campaign progress card: an `EditFn` over aiogram's Bot.

A card that cannot be edited (deleted, too many edits, network trouble) is logged and
skipped: the card is a convenience, it must never stop or slow the campaign it reports on.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError

from bot.keyboards import keyboard_for
from care.outreach.admin import EditFn
from care.replies import Reply

__all__ = ["telegram_edit"]

log = logging.getLogger("carebot.admin")


def telegram_edit(bot: Bot) -> EditFn:
    """editMessageText with the card's buttons."""

    async def edit(chat_id: int, message_id: int, reply: Reply) -> None:
        try:
            await bot.edit_message_text(
                text=reply.text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode="HTML",
                reply_markup=keyboard_for(reply),
            )
        except (TelegramAPIError, TelegramNetworkError) as exc:
            if "not modified" not in str(exc):
                log.warning("progress card %s/%s not updated: %s", chat_id, message_id, exc)

    return edit
