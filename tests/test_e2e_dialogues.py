"""Dialogues with a staff group: what staff see of a conversation that remembers (issue 15).

The running bot (polling) against the loopback fake Bot API with a forum group: repeat
complaints and floods are noted in the ticket's topic, a staff takeover silences the bot but
records everything, and with a staff group the hand-off scripts are the live ones.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlmodel import col, select

from storage import MessageLog
from tests.fakes.updates import sticker_update
from tests.staff_harness import CUSTOMER, STAFF_CHAT, StaffEnv, staff_env

TICKET = re.compile(r"C-\d{8}-\d{4}")


async def _log(env: StaffEnv) -> list[MessageLog]:
    async with env.services.database.session() as session:
        rows = await session.execute(select(MessageLog).order_by(col(MessageLog.id)))
        return list(rows.scalars())


def _topic_texts(env: StaffEnv, thread: int) -> list[str]:
    return [
        str(c.params.get("text"))
        for c in env.sent_to(STAFF_CHAT)
        if c.params.get("message_thread_id") == thread
    ]


async def test_with_a_staff_group_the_hand_off_is_live(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        await env.escalate("我要搵真人")
        scripts = [r.script_id for r in await _log(env) if r.direction == "out"]
        assert scripts[0] == "handoff.ack"
        await env.say("我要投诉，东西坏了")  # joins the case: no second ticket, no new topic
        await env.settle()
        assert len(env.api.calls_of("createForumTopic")) == 1


async def test_the_third_complaint_is_flagged_in_the_topic(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        await env.say("我的快递三天还没到,太慢了")
        topic = await env.wait("createForumTopic", 1)
        thread = int(topic[-1].result["message_thread_id"])
        for text in ("都三天了还没人理我", "我要投诉"):
            await env.say(text)
        await env.settle()
        ticket = await env.ticket()
        assert ticket.priority.value == "urgent"
        flagged = [t for t in _topic_texts(env, thread) if ticket.number in t and "3" in t]
        assert flagged, _topic_texts(env, thread)
        scripts = [r.script_id for r in await _log(env) if r.direction == "out"]
        assert scripts.count("complaint.ack") == 1 and scripts[-1] == "complaint.raised"


async def test_a_flood_on_a_ticket_is_visible_in_its_topic_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    async with staff_env(tmp_path, staff={"flood_per_minute": 5}) as env:
        thread = await env.escalate()
        for n in range(12):
            await env.say(f"第{n}条")
        await env.settle()
        ticket = await env.ticket()
        inbound = [r for r in await _log(env) if r.direction == "in"]
        assert len(inbound) == 13 and all(r.ticket_id == ticket.id for r in inbound)
        notes = [t for t in _topic_texts(env, thread) if "🌊" in t]
        assert len(notes) == 1 and ticket.number in notes[0]
        notices = [r for r in await _log(env) if r.script_id == "flood.notice"]
        assert len(notices) == 1


async def test_messages_during_a_takeover_are_recorded_relayed_and_never_answered(
    tmp_path: Path,
) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        await env.staff("/take", thread)
        await env.wait("sendMessage", 2, chat_id=CUSTOMER)
        await env.settle()
        before = len(env.sent_to(CUSTOMER))
        for text in ("还有人吗", "谢谢", "订单号 SF1234567890", "我要投诉!!!", "/resolve"):
            await env.say(text)
        env.api.push_update(sticker_update(CUSTOMER, first_name="Liang"))
        await env.settle()
        assert len(env.sent_to(CUSTOMER)) == before, "a human holds the ticket: the bot is quiet"
        ticket = await env.ticket()
        inbound = [r for r in await _log(env) if r.direction == "in"]
        assert [r.text for r in inbound[-6:]] == [
            "还有人吗",
            "谢谢",
            "订单号 SF1234567890",
            "我要投诉!!!",
            "/resolve",
            None,
        ]
        assert all(r.ticket_id == ticket.id for r in inbound[-6:])
        assert ticket.status.value == "open" and ticket.assignee_id is not None
