"""Sending a turn's replies to a customer, with Telegram errors handled by type.

Forbidden (the customer blocked the bot) marks the customer and stops; RetryAfter
waits as told and retries a bounded number of times; BadRequest (e.g. markup the
API rejects) is logged and the approved safe fallback is sent instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter

from bot.keyboards import keyboard_for
from care.desk.conversation import Turn
from care.replies import Reply
from care.runtime.logs import set_ticket
from care.runtime.services import Services
from care.uow import Repos

__all__ = ["deliver", "retrying"]

log = logging.getLogger("carebot.delivery")

T = TypeVar("T")

_MAX_RETRIES = 3


async def deliver(bot: Bot, chat_id: int, turn: Turn, services: Services, repos: Repos) -> None:
    """Send every reply of `turn` in order and log each one that Telegram accepted."""
    _observe(turn, services)
    for reply in turn.replies:
        try:
            message_id = await _send(bot, chat_id, reply)
        except TelegramForbiddenError:
            log.info("customer %s blocked the bot; marking and stopping this turn", chat_id)
            customer = await repos.customers.get(turn.customer_id)
            if customer is not None:
                await repos.customers.mark_blocked(customer, True)
            return
        except TelegramBadRequest as exc:
            log.warning(
                "Telegram rejected %s: %s; sending the safe fallback",
                reply.rendered.script_id,
                exc.message,
            )
            fallback = Reply(services.renderer.render("fallback.safe", reply.rendered.language, {}))
            message_id = await _send(bot, chat_id, fallback)
            reply = fallback
        await services.conversation.record_sent(repos, turn, reply, message_id)


def _observe(turn: Turn, services: Services) -> None:
    """Metrics and log context for the turn (every handler delivers through here)."""
    if turn.ticket is not None:
        set_ticket(turn.ticket.number)
    if turn.intent is not None:
        services.metrics.intents.labels(turn.intent).inc()
    if turn.ticket_opened and turn.ticket is not None:
        services.metrics.tickets_opened.labels(str(turn.ticket.kind)).inc()


async def _send(bot: Bot, chat_id: int, reply: Reply) -> int:
    sent = await retrying(
        lambda: bot.send_message(
            chat_id, reply.text, parse_mode="HTML", reply_markup=keyboard_for(reply)
        )
    )
    return sent.message_id


async def retrying(call: Callable[[], Awaitable[T]], logger: logging.Logger = log) -> T:
    """RetryAfter: wait as told and retry, a bounded number of times."""
    for attempt in range(_MAX_RETRIES + 1):
        try:
            return await call()
        except TelegramRetryAfter as exc:
            if attempt == _MAX_RETRIES:
                raise
            logger.warning("flood limit: waiting %ss before retrying", exc.retry_after)
            await asyncio.sleep(exc.retry_after)
    raise AssertionError("unreachable")  # pragma: no cover
