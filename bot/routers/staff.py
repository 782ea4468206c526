"""The staff forum group: topic commands, card buttons, relayed replies and their edits.

Only staff (`IsStaff`: group members and ADMIN_IDS) reach the working handlers; everyone
else pressing a button or typing a command is refused, and their other messages are ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.filters import Awaited
from bot.inbound import content_type_of
from bot.staff.auth import IsStaff, staff_actor
from bot.staff.gateway import StaffGateway
from care.desk.staff import STAFF_ACTIONS, StaffOutcome
from care.runtime.services import Services
from care.uow import Repos
from storage import Ticket

__all__ = ["create_router"]

AfterCommit = list[Callable[[], None]]

#: What staff may post into a topic for the customer (service messages are left alone).
RELAYED = {"text", "photo", "document", "voice", "video", "sticker", "location", "audio",
           "animation", "video_note"}  # fmt: skip


def create_router() -> Router:
    router = Router(name=__name__)
    commands = Command(*STAFF_ACTIONS)
    router.message.register(on_command, commands, IsStaff())
    router.message.register(on_refused, commands)
    router.callback_query.register(on_button, Awaited(F.data.startswith("staff:")), IsStaff())
    router.callback_query.register(on_button_refused, Awaited(F.data.startswith("staff:")))
    router.edited_message.register(on_edit, Awaited(F.message_thread_id), IsStaff())
    router.message.register(
        on_topic_message,
        Awaited(F.message_thread_id),
        Awaited(F.content_type.in_(RELAYED)),
        IsStaff(),
    )
    return router


async def on_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    services: Services,
    repos: Repos,
    staff_gateway: StaffGateway,
    after_commit: AfterCommit,
) -> None:
    ticket = await services.staff.ticket_for_topic(repos, message.message_thread_id)
    if ticket is None or message.from_user is None:
        await staff_gateway.reply_in_topic(bot, message, services.staff.staff_text("staff.usage"))
        return
    replied = message.reply_to_message
    target = (
        staff_actor(replied.from_user)
        if command.command == "assign" and replied and replied.from_user
        and not replied.from_user.is_bot and replied.message_id != message.message_thread_id
        else None
    )  # fmt: skip
    actor = staff_actor(message.from_user)
    outcome = await services.staff.act(
        repos, ticket, actor, command.command, command.args or "", target=target
    )
    await _apply(bot, repos, staff_gateway, ticket, outcome, after_commit, message)


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
    _, action, raw_id = (query.data or "::").split(":", 2)
    ticket = await repos.tickets.get(int(raw_id)) if raw_id.isdigit() else None
    if ticket is None or action == "note":
        hint = services.staff.staff_text("staff.hint.note" if ticket else "staff.usage")
        await query.answer(text=hint.rendered.plain, show_alert=True)
        return
    outcome = await services.staff.act(repos, ticket, staff_actor(query.from_user), action)
    notice = outcome.notice.rendered.plain if outcome.notice is not None else None
    await query.answer(text=notice, show_alert=notice is not None)
    await _apply(bot, repos, staff_gateway, ticket, outcome, after_commit, None)


async def on_button_refused(query: CallbackQuery, services: Services) -> None:
    refusal = services.staff.staff_text("staff.unauthorized").rendered.plain
    await query.answer(text=refusal, show_alert=True)


async def on_topic_message(
    message: Message,
    bot: Bot,
    services: Services,
    repos: Repos,
    staff_gateway: StaffGateway,
    after_commit: AfterCommit,
) -> None:
    """A staff reply in a ticket topic: guarded, then copied to that ticket's customer only."""
    ticket = await services.staff.ticket_for_topic(repos, message.message_thread_id)
    if ticket is None or message.from_user is None:
        return
    decision = await services.staff.staff_message(
        repos,
        ticket,
        staff_actor(message.from_user),
        message.text or message.caption,
        content_type_of(message),
    )
    await staff_gateway.relay_to_customer(bot, repos, message, decision, after_commit)
    if decision.taken is not None:
        await staff_gateway.refresh_card(bot, ticket, await services.staff.card(repos, ticket))


async def on_edit(message: Message, bot: Bot, repos: Repos, staff_gateway: StaffGateway) -> None:
    await staff_gateway.staff_edited(bot, repos, message)


async def _apply(
    bot: Bot,
    repos: Repos,
    gateway: StaffGateway,
    ticket: Ticket,
    outcome: StaffOutcome,
    after_commit: AfterCommit,
    message: Message | None,
) -> None:
    """Post what an action produced: notice to the actor, events, customer texts, card."""
    if not outcome.ok:
        if outcome.notice is not None and message is not None:
            await gateway.reply_in_topic(bot, message, outcome.notice)
        return
    if outcome.customer and outcome.customer_chat_id is not None:
        await gateway.send_to_customer(
            bot, repos, ticket, outcome.customer_chat_id, outcome.customer
        )
    if outcome.reopen_topic:
        gateway.reopen_topic(bot, ticket, after_commit)
    gateway.post(bot, ticket, outcome.topic, after_commit)
    await gateway.refresh_card(bot, ticket, outcome.card)
