"""Customer private chats: /start, menu buttons, text and everything else."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.delivery import deliver
from bot.filters import Awaited
from bot.inbound import inbound_from_callback, inbound_from_message
from bot.staff.gateway import StaffGateway
from care.desk.dialogue import DIALOGUE, Dialogue
from care.runtime.services import Services
from care.uow import Repos
from intents import Match

__all__ = ["create_router"]


def create_router() -> Router:
    """A fresh router per dispatcher (a router object can be attached to only one parent)."""
    router = Router(name=__name__)
    router.message.register(on_start, CommandStart())
    router.callback_query.register(on_menu, Awaited(F.data.startswith("menu:")))
    router.message.register(on_message)  # catch-all last: text and media alike
    router.edited_message.register(on_edited)
    return router


async def on_start(message: Message, services: Services, repos: Repos, state: FSMContext) -> None:
    # A fresh menu, but the conversation's memory (open ticket, complaints) stays.
    data = await state.get_data()
    await state.clear()
    if DIALOGUE in data:
        await state.set_data({DIALOGUE: data[DIALOGUE]})
    turn = await services.conversation.start(repos, inbound_from_message(message))
    await deliver(message.bot, message.chat.id, turn, services, repos)  # type: ignore[arg-type]


async def on_menu(
    query: CallbackQuery,
    bot: Bot,
    services: Services,
    repos: Repos,
    state: FSMContext,
    staff_gateway: StaffGateway,
) -> None:
    await query.answer()
    choice = (query.data or "").removeprefix("menu:")
    turn = await services.conversation.menu_choice(repos, inbound_from_callback(query), choice)
    await state.update_data(expecting=turn.expecting)
    await deliver(bot, query.from_user.id, turn, services, repos)
    if turn.ticket is not None and turn.relay:  # "talk to a person": open the staff topic now
        await staff_gateway.ensure_topic(bot, repos, turn.ticket)


async def on_message(
    message: Message,
    bot: Bot,
    services: Services,
    repos: Repos,
    state: FSMContext,
    staff_gateway: StaffGateway,
    after_commit: list[Callable[[], None]],
    matching: asyncio.Task[Match] | None = None,
) -> None:
    """Text and media alike: the care layer decides (media get a polite reply).

    Messages of an escalated ticket are also copied into its staff topic; while a human
    holds the ticket the turn has no replies and the copy is all that happens.
    """
    data = await state.get_data()
    expecting = data.get("expecting")
    turn = await services.conversation.message(
        repos,
        inbound_from_message(message),
        expecting=expecting,
        dialogue=Dialogue.from_data(data.get(DIALOGUE)),
        matching=matching,  # started by the flood middleware, before the write lock
    )
    remembered = turn.dialogue.to_data() if turn.dialogue is not None else data.get(DIALOGUE)
    if turn.expecting != expecting or remembered != data.get(DIALOGUE):
        # Written only when it changes (with RedisStorage every write is a round trip).
        await state.set_data({**data, "expecting": turn.expecting, DIALOGUE: remembered})
    await deliver(bot, message.chat.id, turn, services, repos)
    if turn.ticket is not None and turn.relay:
        await staff_gateway.relay_from_customer(bot, repos, turn.ticket, message, after_commit)
    if turn.ticket is not None and turn.staff_notes and staff_gateway.chat_id is not None:
        notes = [services.staff.staff_text(script, context) for script, context in turn.staff_notes]
        staff_gateway.post(bot, turn.ticket, notes, after_commit)


async def on_edited(
    message: Message, bot: Bot, services: Services, repos: Repos, staff_gateway: StaffGateway
) -> None:
    """A customer edited a message: record the new text (on the open ticket, no reply) and
    mirror it onto its copy in the staff topic."""
    await services.conversation.edited(repos, inbound_from_message(message))
    await staff_gateway.customer_edited(bot, repos, message)
