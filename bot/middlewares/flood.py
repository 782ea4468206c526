"""Per-customer flood control on private messages: over the limit, record, notify once, no reply.

The decision (sliding window, when to notify) is `care.desk.staff.StaffDesk.flood_verdict`;
recording the message and the notice are `care.desk.conversation.Conversation.flooded`. This
middleware only stops the update before the handlers and sends what care returned: nothing a
customer sends is lost, flooded or not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

from bot.delivery import deliver
from bot.inbound import inbound_from_message
from bot.staff.gateway import StaffGateway
from care.runtime.services import Services
from care.uow import Repos

__all__ = ["FloodMiddleware"]


class FloodMiddleware(BaseMiddleware):
    """Inner message middleware of the customers router."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message) or event.from_user is None:
            return await handler(event, data)
        services: Services = data["services"]
        repos: Repos = data["repos"]
        conversation = services.conversation
        # The text's match (the sentence encoder in its thread) starts before the write lock
        # is taken: while this update waits for it, the encoder already works. Handed to the
        # customer handler; dropped if the update is flooded or another handler takes it.
        # Not for a customer refused within the last window: their burst would be encoded
        # only to be dropped (a message the gate lets through is matched by the handler).
        flooding = services.staff.flooding(event.from_user.id)
        matching = None if flooding else conversation.start_match(inbound_from_message(event))
        data["matching"] = matching
        try:
            # Start the update's transaction before judging (no extra statement: the handler
            # would begin it anyway). On SQLite that takes the write lock, so one customer's
            # concurrent updates are judged in the order they then run and commit - the
            # notice follows the replies to the messages before it.
            await repos.session.connection()
            verdict = await services.staff.flood_verdict(event.from_user.id)
            if verdict == "pass":
                return await handler(event, data)
        finally:
            if matching is not None:
                conversation.drop_match(matching)
        turn = await services.conversation.flooded(
            repos, inbound_from_message(event), notify=verdict == "notify"
        )
        await deliver(data["bot"], event.chat.id, turn, services, repos)
        gateway: StaffGateway = data["staff_gateway"]
        if turn.ticket is not None and turn.staff_notes and gateway.chat_id is not None:
            notes = [
                services.staff.staff_text(script, context) for script, context in turn.staff_notes
            ]
            gateway.post(data["bot"], turn.ticket, notes, data["after_commit"])
        return None
