"""Staff macros in a ticket topic: `/s`, the list / preview / Send / Cancel buttons, prompts.

Staff only (`IsStaff`, the same check as every topic command); anyone else is refused. The
use cases are `care.desk.macros.MacroDesk`; this module posts what it returns.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InaccessibleMessage, Message

from bot.filters import Awaited
from bot.staff.auth import IsStaff, staff_actor
from bot.staff.gateway import StaffGateway
from care.desk.macros import PREFIX, MacroStep
from care.runtime.services import Services
from care.uow import Repos

__all__ = ["create_router"]

AfterCommit = list[Callable[[], None]]
_BUTTONS = F.data.startswith(f"{PREFIX}:")


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(on_command, Command("s"), IsStaff())
    router.message.register(on_refused, Command("s"))
    router.callback_query.register(on_button, Awaited(_BUTTONS), IsStaff())
    router.callback_query.register(on_button_refused, Awaited(_BUTTONS))
    # A reply to a "please give VALUE" prompt; any other reply goes on to be relayed.
    router.message.register(
        on_reply, Awaited(F.message_thread_id), Awaited(F.reply_to_message), Awaited(F.text),
        IsStaff(),
    )  # fmt: skip
    return router


async def on_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    services: Services,
    repos: Repos,
    staff_gateway: StaffGateway,
) -> None:
    ticket = await services.staff.ticket_for_topic(repos, message.message_thread_id)
    if ticket is None or message.from_user is None:
        await staff_gateway.reply_in_topic(bot, message, services.staff.staff_text("staff.usage"))
        return
    step = await services.macros.command(
        repos, ticket, staff_actor(message.from_user), command.args or ""
    )
    await _show(bot, repos, services, staff_gateway, message, step)


async def on_reply(
    message: Message, bot: Bot, services: Services, repos: Repos, staff_gateway: StaffGateway
) -> None:
    ticket = await services.staff.ticket_for_topic(repos, message.message_thread_id)
    prompt = message.reply_to_message
    if ticket is None or prompt is None or message.from_user is None:
        raise SkipHandler
    step = await services.macros.answer(
        repos, ticket, staff_actor(message.from_user), prompt.message_id, message.text
    )
    if step is None:
        raise SkipHandler  # an ordinary reply: the staff router relays it
    await _show(bot, repos, services, staff_gateway, message, step)


async def on_refused(
    message: Message, bot: Bot, services: Services, staff_gateway: StaffGateway
) -> None:
    await staff_gateway.reply_in_topic(
        bot, message, services.staff.staff_text("staff.unauthorized")
    )


async def on_button(
    query: CallbackQuery,
    bot: Bot,
    services: Services,
    repos: Repos,
    staff_gateway: StaffGateway,
    after_commit: AfterCommit,
) -> None:
    parts = (query.data or "").split(":")
    message = query.message
    if len(parts) < 3 or message is None or isinstance(message, InaccessibleMessage):
        await query.answer()
        return
    actor, action = staff_actor(query.from_user), parts[1]
    if action in ("s", "x") and parts[2].isdigit():
        macros = services.macros
        use_id = int(parts[2])
        done = await (macros.send if action == "s" else macros.cancel)(repos, use_id, actor)
        if done.decision is not None and done.decision.allowed and done.text is not None:
            await staff_gateway.send_macro(
                bot, repos, message, done.decision, done.text, after_commit
            )
        elif done.decision is not None and done.notice is not None:  # the guard refused it
            await staff_gateway.reply_in_topic(bot, message, done.notice)
            await query.answer()
            return
        alert = done.notice.rendered.plain if done.notice is not None else None
        await query.answer(text=alert, show_alert=alert is not None)
        if done.topic is not None:
            await staff_gateway.edit_in_topic(bot, message, done.topic)
        return
    ticket = await repos.tickets.get(int(parts[2])) if parts[2].isdigit() else None
    if ticket is None or len(parts) < 4:
        await query.answer()
        return
    if action == "l":
        page = int(parts[3]) if parts[3].isdigit() else 1
        await query.answer()
        await staff_gateway.edit_in_topic(bot, message, services.macros.listing(ticket, page))
        return
    step = await services.macros.pressed_open(repos, ticket, actor, parts[3])
    await query.answer()
    await _show(bot, repos, services, staff_gateway, message, step)


async def on_button_refused(query: CallbackQuery, services: Services) -> None:
    refusal = services.staff.staff_text("staff.unauthorized").rendered.plain
    await query.answer(text=refusal, show_alert=True)


async def _show(
    bot: Bot,
    repos: Repos,
    services: Services,
    gateway: StaffGateway,
    under: Message,
    step: MacroStep,
) -> None:
    """Post the step's list, prompt or preview under ``under``; remember which message the
    prompt or preview is (a reply to the prompt is the value; Send edits the preview)."""
    if step.reply is None:
        return
    posted = await gateway.reply_in_topic(bot, under, step.reply)
    if step.use_id is not None:
        await services.macros.posted(repos, step.use_id, posted)
