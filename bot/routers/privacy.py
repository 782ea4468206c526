"""`/forget`: the customer's erasure request, and staff approving it in the staff group."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.delivery import retrying
from bot.filters import Awaited
from bot.keyboards import keyboard_for
from bot.staff.auth import IsStaff
from bot.staff.gateway import StaffGateway
from bot.staff.outbox import OutboxJob
from care.privacy import requests
from care.runtime.services import Services
from care.uow import Repos

__all__ = ["create_customer_router", "create_staff_router"]

log = logging.getLogger("carebot.privacy")

AfterCommit = list[Callable[[], None]]


async def on_forget(
    message: Message,
    bot: Bot,
    services: Services,
    repos: Repos,
    staff_gateway: StaffGateway,
    after_commit: AfterCommit,
) -> None:
    if message.from_user is None:
        return
    language = services.settings.default_language
    asked = await requests.request(services, repos, message.from_user.id, language)
    await message.answer(asked.customer.text, parse_mode="HTML")
    card, chat_id = asked.staff, services.settings.staff_chat_id
    if card is None or chat_id is None:
        return

    async def post(_: Sequence[OutboxJob]) -> None:
        await retrying(
            functools.partial(
                bot.send_message, chat_id, card.text, reply_markup=keyboard_for(card)
            ),
            log,
        )

    after_commit.append(lambda: staff_gateway.outbox.put(OutboxJob(run=post)))


async def on_approve(
    query: CallbackQuery,
    bot: Bot,
    services: Services,
    repos: Repos,
    staff_gateway: StaffGateway,
    after_commit: AfterCommit,
) -> None:
    name = query.from_user.full_name or str(query.from_user.id)
    outcome = await requests.approve(services, repos, query.data or "", name)
    if outcome.alert is not None:
        await query.answer(text=outcome.alert.rendered.plain, show_alert=True)
        return
    await query.answer()
    card, target = outcome.card, query.message

    async def tell(_: Sequence[OutboxJob]) -> None:
        if card is not None and target is not None:
            try:
                await retrying(
                    functools.partial(
                        bot.edit_message_text, card.text, chat_id=target.chat.id,
                        message_id=target.message_id,
                    ),
                    log,
                )  # fmt: skip
            except TelegramBadRequest as exc:
                log.warning("erasure card not updated: %s", exc.message)
        if outcome.customer is not None and outcome.chat_id is not None:
            try:
                await retrying(
                    functools.partial(bot.send_message, outcome.chat_id, outcome.customer.text),
                    log,
                )
            except (TelegramBadRequest, TelegramForbiddenError) as exc:
                log.info("erased customer not told (%s)", exc.message)

    # After the commit: the customer is told only once the erasure is final.
    after_commit.append(lambda: staff_gateway.outbox.put(OutboxJob(run=tell)))


async def on_approve_refused(query: CallbackQuery, services: Services) -> None:
    refusal = services.staff.staff_text("staff.unauthorized").rendered.plain
    await query.answer(text=refusal, show_alert=True)


def create_customer_router() -> Router:
    router = Router(name=f"{__name__}.customers")
    router.message.register(on_forget, Command("forget"))
    return router


def create_staff_router() -> Router:
    router = Router(name=f"{__name__}.staff")
    approve = Awaited(F.data.startswith(requests.APPROVE_PREFIX))
    router.callback_query.register(on_approve, approve, IsStaff())
    router.callback_query.register(on_approve_refused, approve)
    return router
