"""The Telegram side of the campaign sender: a `send` callable mapping aiogram errors to
the care layer's `SendError` types."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from care.outreach.sender import (
    Blocked,
    ChatNotFound,
    OutgoingMessage,
    Rejected,
    RetryAfter,
    SendFn,
    Transient,
)

__all__ = ["telegram_send"]

log = logging.getLogger("carebot.broadcast")


def telegram_send(bot: Bot) -> SendFn:
    """A `send` for `CampaignSender`: sendMessage, paid broadcasts flagged as Telegram asks."""

    async def send(message: OutgoingMessage) -> int:
        markup = (
            InlineKeyboardMarkup(
                inline_keyboard=[
                    [InlineKeyboardButton(text=b.label, callback_data=b.data)]
                    for b in message.buttons
                ]
            )
            if message.buttons
            else None
        )
        try:
            sent = await bot.send_message(
                message.chat_id,
                message.text,
                parse_mode="HTML",
                reply_markup=markup,
                allow_paid_broadcast=True if message.paid else None,
            )
        except TelegramRetryAfter as exc:
            raise RetryAfter(float(exc.retry_after)) from None
        except TelegramForbiddenError as exc:
            raise Blocked(exc.message) from None
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise ChatNotFound(exc.message) from None
            raise Rejected(exc.message) from None
        except (TelegramNetworkError, TelegramServerError) as exc:
            raise Transient(str(exc)) from None
        return sent.message_id

    return send
