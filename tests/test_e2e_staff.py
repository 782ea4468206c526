"""End to end: staff takeover through the real dispatcher, polling the loopback fake Bot API."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from storage import MessagePair, Priority, TicketEvent, TicketStatus
from tests.conftest import FakeClock
from tests.fakes.updates import (
    callback_update,
    edited_text_update,
    photo_update,
    sticker_update,
    text_update,
)
from tests.staff_harness import (
    CUSTOMER,
    STAFF_CHAT,
    STAFF_USER,
    SUPERVISOR,
    StaffEnv,
    staff_env,
)

TICKET = re.compile(r"C-\d{8}-\d{4}")


def _copies(env: StaffEnv, chat_id: int) -> list[dict]:
    return [
        c.params for c in env.api.calls_of("copyMessage") if c.ok and c.params["chat_id"] == chat_id
    ]


async def _rows(env: StaffEnv, model: type) -> list:
    async with env.services.database.session() as session:
        return list((await session.execute(select(model))).scalars())


async def test_escalation_opens_topic_with_card_and_relays_both_ways(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("我的快递三天还没到，我要投诉")
        ticket = await env.ticket()
        topic = env.api.topics(STAFF_CHAT)[thread]
        assert ticket.number in topic["name"] and "Liang" in topic["name"]
        card = env.api.message(STAFF_CHAT, ticket.card_message_id)
        assert card is not None and ticket.number in card["text"]
        assert "快递三天还没到" in card["text"]  # recent history on the card
        buttons = [
            b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row
        ]
        assert f"staff:take:{ticket.id}" in buttons and f"staff:resolve:{ticket.id}" in buttons
        # The complaint itself was copied into the topic.
        assert [c["message_thread_id"] for c in _copies(env, STAFF_CHAT)] == [thread]

        # Customer media reaches the topic; the bot acknowledges instead of "text only".
        env.api.push_update(photo_update(CUSTOMER, caption="破损照片", first_name="Liang"))
        await env.wait("copyMessage", 2, chat_id=STAFF_CHAT)
        env.api.push_update(sticker_update(CUSTOMER, first_name="Liang"))
        await env.wait("copyMessage", 3, chat_id=STAFF_CHAT)
        await env.settle()
        copied = [
            env.api.message(STAFF_CHAT, m)
            for m in (c.result["message_id"] for c in env.api.calls_of("copyMessage"))
        ]
        assert any("photo" in (m or {}) for m in copied) and any(
            "sticker" in (m or {}) for m in copied
        )

        # Staff reply (text and a photo) is copied to the customer.
        await env.staff("您好，非常抱歉，我们马上为您核实。", thread)
        await env.wait("copyMessage", 1, chat_id=CUSTOMER)
        await env.staff(
            None,
            thread,
            content={
                "photo": [{"file_id": "p1", "file_unique_id": "u1", "width": 9, "height": 9}],
                "caption": "快递单据",
            },
        )
        await env.wait("copyMessage", 2, chat_id=CUSTOMER)
        await env.settle()
        texts = [m.get("text") or m.get("caption") for m in env.api.chat_messages(CUSTOMER)]
        assert "您好，非常抱歉，我们马上为您核实。" in texts and "快递单据" in texts
        pairs = await _rows(env, MessagePair)
        assert {p.direction for p in pairs} == {"in", "out"} and len(pairs) == 5
        ticket = await env.ticket()
        assert ticket.assignee_id == STAFF_USER  # replying is taking
        assert ticket.first_responded_at is not None


async def test_guarded_staff_reply_is_blocked_with_reason(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        await env.staff("这是公司的规定，我也没办法", thread)
        notice = await env.wait(
            "sendMessage", 2, chat_id=STAFF_CHAT, message_thread_id=thread, timeout=5
        )
        await env.settle()
        assert not _copies(env, CUSTOMER), "nothing reaches the customer"
        text = notice[-1].params["text"]
        assert "🚫" in text and "建议" in text
        assert "“这是公司的规定，”" in text, "the notice names the clause that fired"
        assert (await env.ticket()).first_responded_at is None


async def test_takeover_silences_the_bot_and_release_restores_it(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        await env.staff("/take", thread)
        await env.wait("sendMessage", 1, chat_id=CUSTOMER, timeout=5)
        await env.settle()
        ticket = await env.ticket()
        assert ticket.status == TicketStatus.OPEN and ticket.assignee_id == STAFF_USER
        before = len(env.sent_to(CUSTOMER))
        await env.say("请问你们几点关门")
        await env.wait("copyMessage", 2, chat_id=STAFF_CHAT)
        await env.settle()
        assert len(env.sent_to(CUSTOMER)) == before, "the bot stays silent while a human holds it"

        await env.staff("/release", thread)
        await env.settle()
        assert (await env.ticket()).assignee_id is None
        await env.say("请问你们几点关门")
        answers = await env.wait("sendMessage", before + 1, chat_id=CUSTOMER)
        assert "21:00" in answers[-1].params["text"] or "10:00" in answers[-1].params["text"]


async def test_resolve_sends_csat_and_rating_is_recorded(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        await env.staff("/resolve", thread)
        await env.settle()
        ticket = await env.ticket()
        assert ticket.status == TicketStatus.RESOLVED
        ask = env.sent_to(CUSTOMER)[-1]
        keyboard = ask.params["reply_markup"]["inline_keyboard"]
        assert [row[0]["callback_data"] for row in keyboard] == [
            f"csat:{ticket.id}:{n}" for n in range(1, 6)
        ]
        env.api.push_update(
            callback_update(CUSTOMER, f"csat:{ticket.id}:4", message_id=ask.result["message_id"])
        )
        await env.settle()
        await env.say("处理很快，谢谢")
        await env.settle()
        ticket = await env.ticket()
        assert (ticket.csat_score, ticket.csat_comment) == (4, "处理很快，谢谢")
        topic_texts = [
            c.params["text"]
            for c in env.sent_to(STAFF_CHAT)
            if c.params.get("message_thread_id") == thread
        ]
        assert any("★★★★☆" in t and "处理很快" in t for t in topic_texts)


async def test_resolved_ticket_closes_with_its_topic_and_reopens_with_it(tmp_path: Path) -> None:
    async with staff_env(tmp_path, staff={"close_resolved_after_days": 4}) as env:
        thread = await env.escalate()
        await env.staff("/resolve", thread)
        await env.settle()
        env.clock.advance(days=3, hours=23)
        assert await env.gateway.run_ticket_closer(env.bot) == []  # still reopenable
        env.clock.advance(hours=1)
        [closure] = await env.gateway.run_ticket_closer(env.bot)
        await env.settle()
        ticket = await env.ticket()
        assert closure.ticket.id == ticket.id and ticket.status == TicketStatus.CLOSED
        assert ticket.closed_at == env.clock.now
        assert env.api.topics(STAFF_CHAT)[thread]["is_closed"]
        note = env.sent_to(STAFF_CHAT)[-1].params
        assert note["message_thread_id"] == thread and "🔒" in note["text"]
        card = env.api.calls_of("editMessageText")[-1].params
        assert card["message_id"] == ticket.card_message_id and "closed" in card["text"]
        assert "close" in [e.kind for e in await _rows(env, TicketEvent)]
        assert await env.gateway.run_ticket_closer(env.bot) == []  # closed once

        await env.staff("/reopen", thread)
        await env.settle()
        assert (await env.ticket()).status == TicketStatus.NEW  # nobody holds it yet
        assert not env.api.topics(STAFF_CHAT)[thread]["is_closed"]
        reopened = env.api.calls_of("reopenForumTopic")
        assert len(reopened) == 1 and reopened[0].params["message_thread_id"] == thread


async def _escalated_resolved_and_closed(env: StaffEnv) -> int:
    """A ticket escalated, resolved and, five days on, closed by the default rule (4 days)."""
    thread = await env.escalate()
    await env.staff("/resolve", thread)
    await env.settle()
    env.clock.advance(days=5)
    assert len(await env.gateway.run_ticket_closer(env.bot)) == 1
    await env.settle()
    return thread


async def test_a_staff_reply_in_a_closed_topic_reopens_ticket_and_topic(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await _escalated_resolved_and_closed(env)
        await env.staff("您好，关于上次的问题我们再跟进一下", thread)
        await env.settle()
        assert (await env.ticket()).status == TicketStatus.WAITING_CUSTOMER
        assert not env.api.topics(STAFF_CHAT)[thread]["is_closed"]
        assert _copies(env, CUSTOMER)  # the reply reached the customer
        reopens = [e for e in await _rows(env, TicketEvent) if e.kind == "reopen"]
        assert len(reopens) == 1  # the reports count reply-reopens too


async def test_a_customer_writing_after_the_close_gets_a_new_ticket_and_topic(
    tmp_path: Path,
) -> None:
    async with staff_env(tmp_path) as env:
        thread = await _escalated_resolved_and_closed(env)
        first = await env.ticket()
        new_thread = await env.escalate("又坏了，转人工")
        assert new_thread != thread
        assert (await env.ticket()).id != first.id
        assert env.api.topics(STAFF_CHAT)[thread]["is_closed"]
        assert not env.api.topics(STAFF_CHAT)[new_thread]["is_closed"]


async def test_sla_warning_and_breach_with_time_travel(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("你们的服务太差了，我要投诉")
        ticket = await env.ticket()
        assert (ticket.first_response_due - ticket.created_at).total_seconds() == 30 * 60
        env.clock.advance(minutes=20)
        assert await env.gateway.run_sla_check(env.bot) == []
        env.clock.advance(minutes=5)  # 25 of 30 minutes: past 80%
        [warning] = await env.gateway.run_sla_check(env.bot)
        assert warning.kind == "sla_warning"
        assert await env.gateway.run_sla_check(env.bot) == []  # said once
        env.clock.advance(minutes=6)
        [breach] = await env.gateway.run_sla_check(env.bot)
        assert breach.kind == "sla_breach"
        breaches = env.services.metrics.sample(
            "carebot_sla_breaches_total", {"deadline": "first_response"}
        )
        assert breaches == 1  # counted once, at the breach (not at the warning)
        await env.settle()
        topic = [
            c.params["text"]
            for c in env.sent_to(STAFF_CHAT)
            if c.params.get("message_thread_id") == thread
        ]
        assert any("⏰" in t for t in topic) and any("🚨" in t for t in topic)
        assert (
            env.sent_to(SUPERVISOR) and ticket.number in env.sent_to(SUPERVISOR)[0].params["text"]
        )
        assert (await env.ticket()).priority == Priority.URGENT  # high -> urgent


async def test_thread_not_found_recovers_with_a_new_topic(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        old = await env.escalate()
        await env.bot.delete_forum_topic(STAFF_CHAT, old)
        await env.say("还有人在吗？")
        await env.wait("createForumTopic", 2)
        await env.settle()
        ticket = await env.ticket()
        assert ticket.topic_id not in (None, old)
        resent = [c for c in _copies(env, STAFF_CHAT) if c["message_thread_id"] == ticket.topic_id]
        assert resent, "the message was resent into the new topic"
        events = {e.kind for e in await _rows(env, TicketEvent)}
        assert "topic_recreated" in events


async def test_unauthorised_staff_command_and_button_are_refused(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        stranger = 6666
        env.api.set_member(STAFF_CHAT, stranger, "left")
        await env.staff("/take", thread, user=stranger)
        await env.staff("你好，我是冒充的客服", thread, user=stranger)
        ticket = await env.ticket()
        env.api.push_update(
            callback_update(
                stranger,
                f"staff:take:{ticket.id}",
                message_id=ticket.card_message_id,
                chat_id=STAFF_CHAT,
            )
        )
        await env.settle()
        ticket = await env.ticket()
        assert ticket.assignee_id is None and ticket.status == TicketStatus.NEW
        assert not _copies(env, CUSTOMER), "a non-member's message is never relayed"
        refusals = [
            c for c in env.api.calls_of("answerCallbackQuery") if c.params.get("show_alert")
        ]
        assert refusals and "客服组" in refusals[0].params["text"]
        # ...while the real staff member can.
        await env.staff("/take", thread)
        await env.settle()
        assert (await env.ticket()).assignee_id == STAFF_USER


async def test_customer_cannot_rate_or_reach_another_customers_ticket(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread_a = await env.escalate()
        other = 9002
        thread_b = await env.escalate(user=other)
        assert thread_a != thread_b
        ticket_a = await env.ticket()
        await env.staff("/resolve", thread_a)
        await env.settle()
        env.api.push_update(callback_update(other, f"csat:{ticket_a.id}:1", message_id=1))
        await env.settle()
        assert (await env.ticket()).csat_score is None
        assert ticket_a.number not in str([c.params for c in env.sent_to(other)])
        await env.staff("给B的回复", thread_b)
        await env.settle()
        assert all(c["chat_id"] == other for c in _copies(env, other)) and _copies(env, other)
        assert not [c for c in _copies(env, CUSTOMER) if "给B" in str(c)]
        assert all(
            p["message_thread_id"] == thread_b
            for p in _copies(env, STAFF_CHAT)
            if p["from_chat_id"] == other
        )


async def test_flood_control_sends_one_polite_notice(tmp_path: Path) -> None:
    async with staff_env(tmp_path, staff={"flood_per_minute": 3}) as env:
        for _ in range(5):
            await env.say("请问你们几点关门")
        await env.settle()
        texts = [c.params["text"] for c in env.sent_to(CUSTOMER)]
        assert len(texts) == 4 and "稍等" in texts[-1]


async def test_outside_business_hours_the_customer_is_told_when_staff_are_back(
    tmp_path: Path,
) -> None:
    late = FakeClock(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))  # 22:00 in Shanghai
    async with staff_env(tmp_path, clock=late) as env:
        await env.escalate("我要投诉，东西坏了")
        texts = [c.params["text"] for c in env.sent_to(CUSTOMER)]
        assert any("明天09:00" in t for t in texts), texts
        ticket = await env.ticket()
        due = ticket.first_response_due.astimezone(env.services.settings.zone)
        assert (due.hour, due.minute) == (9, 30)  # the SLA clock paused overnight


async def test_blocked_customer_is_marked_and_the_ticket_noted(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        env.api.set_blocked(CUSTOMER)
        await env.staff("您好，请问还需要帮助吗？", thread)
        await env.settle()
        assert (await env.customer()).blocked
        assert "customer_blocked" in {e.kind for e in await _rows(env, TicketEvent)}


async def test_edits_are_mirrored_both_ways(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        sent = env.api.push_update(text_update(CUSTOMER, "订单号 123", first_name="Liang"))
        await env.wait("copyMessage", 2, chat_id=STAFF_CHAT)
        await env.settle()
        customer_msg = sent["message"]["message_id"]
        env.api.push_update(
            edited_text_update(CUSTOMER, "订单号 456", message_id=customer_msg, first_name="Liang")
        )
        await env.wait("editMessageText", 1, chat_id=STAFF_CHAT)
        staff_msg = await env.staff("收到，马上查", thread)
        await env.wait("copyMessage", 1, chat_id=CUSTOMER)
        await env.settle()
        env.api.push_update(
            edited_text_update(
                STAFF_USER,
                "收到，马上为您查询",
                message_id=staff_msg["message"]["message_id"],
                chat_id=STAFF_CHAT,
                chat_type="supergroup",
                thread_id=thread,
            )
        )
        edits = await env.wait("editMessageText", 1, chat_id=CUSTOMER)
        assert edits[-1].params["text"] == "收到，马上为您查询"
