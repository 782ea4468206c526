"""End to end: after an erasure the leader deletes the ticket's staff topic (loopback fake API)."""

from __future__ import annotations

from pathlib import Path

from bot.staff.cleanup import clean_topics
from care.privacy import erasure
from tests.fakes.updates import callback_update, photo_update
from tests.staff_harness import CUSTOMER, STAFF_CHAT, STAFF_USER, staff_env


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


async def test_forget_in_the_chat_runs_once_staff_approve(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("我的快递三天还没到，我要投诉")
        await env.staff("/take", thread)
        await env.settle()
        number = (await env.ticket()).number
        await env.say("/forget")
        await env.settle()
        ack = env.sent_to(CUSTOMER)[-1].params["text"]
        assert "删除个人数据的请求" in ack
        card = env.sent_to(STAFF_CHAT)[-1]
        assert "message_thread_id" not in card.params and "/forget" in card.params["text"]
        [[button]] = card.params["reply_markup"]["inline_keyboard"]
        press = {
            "message_id": card.result["message_id"],
            "chat_id": STAFF_CHAT,
            "first_name": "Wang Fang",
        }

        # Not staff: refused. Staff while the ticket is taken: told why, nothing erased.
        stranger = 6666
        env.api.set_member(STAFF_CHAT, stranger, "left")
        env.api.push_update(callback_update(stranger, button["callback_data"], **press))
        await env.settle()
        env.api.push_update(callback_update(STAFF_USER, button["callback_data"], **press))
        await env.settle()
        alerts = [c.params["text"] for c in env.api.calls_of("answerCallbackQuery")
                  if c.params.get("show_alert")]  # fmt: skip
        assert "客服组" in alerts[0] and number in alerts[1]
        assert (await env.customer()).forgotten_at is None

        await env.staff("/release", thread)
        await env.settle()
        env.api.push_update(callback_update(STAFF_USER, button["callback_data"], **press))
        await env.settle()
        assert "个人数据已删除" in env.sent_to(CUSTOMER)[-1].params["text"]
        edited = env.api.calls_of("editMessageText")[-1].params
        assert edited["message_id"] == press["message_id"] and "Wang Fang" in edited["text"]
        assert await clean_topics(env.bot, env.services) == 1
        assert thread not in env.api.topics(STAFF_CHAT)
        # Pressed again: already done, said so, nothing else happens.
        env.api.push_update(callback_update(STAFF_USER, button["callback_data"], **press))
        await env.settle()
        last = env.api.calls_of("answerCallbackQuery")[-1].params
        assert last.get("show_alert") and "已经删除" in last["text"]
