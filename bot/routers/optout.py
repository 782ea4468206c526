"""Customers opting out of care greetings: /stop, or the button under each greeting."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.filters import Awaited
from care.outreach.optout import opt_out
from care.runtime.services import Services
from care.uow import Repos

__all__ = ["create_router"]


async def on_stop(message: Message, services: Services, repos: Repos) -> None:
    if message.from_user is None:
        return
    reply = await opt_out(services, repos, message.from_user.id, None)
    if reply is not None:
        await message.answer(reply.text, parse_mode="HTML")


async def on_optout_button(query: CallbackQuery, services: Services, repos: Repos) -> None:
    await query.answer()
    category = (query.data or "").removeprefix("optout:")
    reply = await opt_out(services, repos, query.from_user.id, category)
    if reply is not None and query.message is not None:
        await query.message.answer(reply.text, parse_mode="HTML")


def create_router() -> Router:
    """A fresh router per dispatcher (a router can be attached only once)."""
    router = Router(name=__name__)
    router.message.register(on_stop, Command("stop"))
    router.callback_query.register(on_optout_button, Awaited(F.data.startswith("optout:")))
    return router
