"""Graceful shutdown counts an update from the moment it is fed, not once its handler starts."""

from __future__ import annotations

import asyncio

from tests.bot.chat import Chat
from tests.progress import wait_until


async def test_an_update_waiting_for_its_chats_turn_is_in_flight(chat: Chat) -> None:
    dispatcher = chat.dispatcher
    key = dispatcher.fsm.get_context(chat.bot, chat_id=chat.user_id, user_id=chat.user_id).key
    # The chat's previous message is still being handled: it holds the chat's lock.
    async with dispatcher.fsm.events_isolation.lock(key):
        waiting = asyncio.create_task(chat.say("营业时间是几点"))
        await wait_until(lambda: dispatcher.inflight.active == 1, "the update to be counted")
        assert not waiting.done()
        assert not await dispatcher.inflight.drain(0.05)  # shutdown would wait for it
    replies = await waiting
    assert replies and "09:00" in replies[0].text
    assert dispatcher.inflight.active == 0
    assert await dispatcher.inflight.drain(0)
