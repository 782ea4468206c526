"""Customer satisfaction (CSAT): the 1-5 star buttons and the optional comment that follows."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.filters import Awaited
from bot.keyboards import keyboard_for
from bot.staff.gateway import StaffGateway
from care.desk.staff import CsatOutcome
from care.runtime.services import Services
from care.uow import Repos

__all__ = ["CsatStates", "create_router"]


class CsatStates(StatesGroup):
    comment = State()


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(on_star, Awaited(F.data.regexp(r"^csat:\d+:\d$")))
    router.message.register(
        on_comment,
        StateFilter(CsatStates.comment),
        Awaited(F.text),
        Awaited(~F.text.startswith("/")),
    )
    return router


async def on_star(
    query: CallbackQuery,
    bot: Bot,
    services: Services,
    repos: Repos,
    state: FSMContext,
    staff_gateway: StaffGateway,
    after_commit: list[Callable[[], None]],
) -> None:
    _, ticket_id, score = (query.data or "").split(":")
    language = (await _language(repos, query.from_user.id)) or services.settings.default_language
    outcome = await services.staff.rate(
        repos, query.from_user.id, int(ticket_id), int(score), language
    )
    if not outcome.ok:  # not this customer's ticket, or not awaiting a rating: reveal nothing
        await query.answer(text=outcome.customer[0].rendered.plain, show_alert=True)
        return
    await query.answer()
    await state.set_state(CsatStates.comment)
    await state.update_data(csat_ticket=outcome.awaiting_comment)
    await _send(bot, query.from_user.id, outcome, staff_gateway, after_commit)


async def on_comment(
    message: Message,
    bot: Bot,
    services: Services,
    repos: Repos,
    state: FSMContext,
    staff_gateway: StaffGateway,
    after_commit: list[Callable[[], None]],
) -> None:
    ticket_id = (await state.get_data()).get("csat_ticket")
    await state.clear()
    if message.from_user is None or not isinstance(ticket_id, int):
        return
    outcome = await services.staff.comment(
        repos, message.from_user.id, ticket_id, message.text or ""
    )
    await _send(bot, message.chat.id, outcome, staff_gateway, after_commit)


async def _send(
    bot: Bot,
    chat_id: int,
    outcome: CsatOutcome,
    gateway: StaffGateway,
    after_commit: list[Callable[[], None]],
) -> None:
    for reply in outcome.customer:
        await bot.send_message(chat_id, reply.text, reply_markup=keyboard_for(reply))
    if outcome.ticket is not None and outcome.topic is not None:
        gateway.post(bot, outcome.ticket, [outcome.topic], after_commit)


async def _language(repos: Repos, telegram_id: int) -> str | None:
    customer = await repos.customers.get_by_telegram_id(telegram_id)
    return customer.language if customer is not None else None
