"""Managers' reports in Telegram: `/report` and its 7 / 30 / 90-day buttons (``rpt:...``).

Thin on purpose: `care.reports.telegram.ManagerReports` checks ADMIN_IDS, builds the report
and returns a card (summary + chart); these handlers only show it. Also `send_card`, the
weekly digest's way to post a card (`care.reports.telegram.WeeklyDigest`).
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.filters import Awaited
from bot.keyboards import keyboard_for
from care.reports.telegram import CALLBACK_PREFIX, ManagerReports, ReportCard, SendCard
from care.runtime.services import Services

__all__ = ["create_router", "send_card"]


def send_card(bot: Bot) -> SendCard:
    """Post a card: the chart as a photo with the summary as its caption (text alone when
    there is no chart, e.g. the managers-only reply)."""

    async def send(chat_id: int, card: ReportCard) -> None:
        markup = keyboard_for(card.reply)
        if card.chart is None:
            await bot.send_message(chat_id, card.reply.text, parse_mode="HTML", reply_markup=markup)
            return
        photo = BufferedInputFile(card.chart, filename="report.png")
        await bot.send_photo(
            chat_id, photo, caption=card.reply.text, parse_mode="HTML", reply_markup=markup
        )

    return send


async def on_report(message: Message, services: Services, bot: Bot) -> None:
    user_id = message.from_user.id if message.from_user else None
    card = await ManagerReports(services).card(user_id)
    await send_card(bot)(message.chat.id, card)


async def on_period_button(query: CallbackQuery, services: Services, bot: Bot) -> None:
    await query.answer()
    card = await ManagerReports(services).press(query.from_user.id, query.data or "")
    if query.message is not None:
        await send_card(bot)(query.message.chat.id, card)


def create_router() -> Router:
    """A fresh router per dispatcher (a router can be attached only once)."""
    router = Router(name=__name__)
    router.message.register(on_report, Command("report"))
    router.callback_query.register(on_period_button, Awaited(F.data.startswith(CALLBACK_PREFIX)))
    return router
