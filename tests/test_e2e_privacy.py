"""End to end: after an erasure the leader deletes the ticket's staff topic (loopback fake API)."""

from __future__ import annotations

from pathlib import Path

from bot.staff.cleanup import clean_topics
from care.privacy import erasure
from tests.fakes.updates import photo_update
from tests.staff_harness import CUSTOMER, STAFF_CHAT, staff_env


async def test_forget_deletes_the_topic_and_notes_it_in_general(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("我的快递三天还没到，我要投诉")
        env.api.push_update(photo_update(CUSTOMER, caption="破损照片", first_name="Liang"))
        await env.settle()
        number = (await env.ticket()).number
        assert thread in env.api.topics(STAFF_CHAT)

        await erasure.forget(env.services.database, CUSTOMER, env.clock(), force=True)
        assert await clean_topics(env.bot, env.services) == 1
        assert thread not in env.api.topics(STAFF_CHAT)  # the topic and every copy in it
        [deleted] = env.api.calls_of("deleteForumTopic")
        assert deleted.params["message_thread_id"] == thread
        note = env.sent_to(STAFF_CHAT)[-1].params
        assert "message_thread_id" not in note and number in note["text"] and "🧹" in note["text"]
        assert "Liang" not in note["text"]
        assert await clean_topics(env.bot, env.services) == 0  # done once


async def test_without_the_right_recent_copies_go_and_staff_are_asked(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("我的快递三天还没到，我要投诉")
        env.api.push_update(photo_update(CUSTOMER, caption="破损照片", first_name="Liang"))
        await env.settle()
        ticket = await env.ticket()
        copies = [
            c.result["message_id"]
            for c in env.api.calls_of("copyMessage")
            if c.ok and c.params["chat_id"] == STAFF_CHAT
        ]
        assert copies
        env.api.inject_error(
            "deleteForumTopic", code=400, description="Bad Request: not enough rights"
        )
        await erasure.forget(env.services.database, CUSTOMER, env.clock(), force=True)
        assert await clean_topics(env.bot, env.services) == 1
        deleted = {c.params["message_id"] for c in env.api.calls_of("deleteMessage") if c.ok}
        assert set(copies) <= deleted
        note = env.sent_to(STAFF_CHAT)[-1].params
        assert note["message_thread_id"] == thread and ticket.number in note["text"]
        assert await clean_topics(env.bot, env.services) == 0
