"""Customer private chats: /start, menu buttons, text and everything else."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.delivery import deliver
from bot.inbound import inbound_from_callback, inbound_from_message
from care.services import Services
from care.uow import Repos

__all__ = ["create_router"]


def create_router() -> Router:
    """A fresh router per dispatcher (a router object can be attached to only one parent)."""
    router = Router(name=__name__)
    router.message.register(on_start, CommandStart())
    router.callback_query.register(on_menu, F.data.startswith("menu:"))
    router.message.register(on_message)  # catch-all last: text and media alike
    return router


async def on_start(message: Message, services: Services, repos: Repos, state: FSMContext) -> None:
    await state.clear()
    turn = await services.conversation.start(repos, inbound_from_message(message))
    await deliver(message.bot, message.chat.id, turn, services, repos)  # type: ignore[arg-type]


async def on_menu(
    query: CallbackQuery, services: Services, repos: Repos, state: FSMContext
) -> None:
    await query.answer()
    choice = (query.data or "").removeprefix("menu:")
    turn = await services.conversation.menu_choice(repos, inbound_from_callback(query), choice)
    await state.update_data(expecting=turn.expecting)
    await deliver(query.bot, query.from_user.id, turn, services, repos)  # type: ignore[arg-type]


async def on_message(message: Message, services: Services, repos: Repos, state: FSMContext) -> None:
    """Text and media alike: the care layer decides (media get a polite reply)."""
    expecting = (await state.get_data()).get("expecting")
    turn = await services.conversation.message(
        repos, inbound_from_message(message), expecting=expecting
    )
    await state.update_data(expecting=turn.expecting)
    await deliver(message.bot, message.chat.id, turn, services, repos)  # type: ignore[arg-type]
