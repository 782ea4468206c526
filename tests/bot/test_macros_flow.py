"""Staff macros end to end: the real dispatcher polling the loopback fake Bot API's forum.

/s list (grouped, paged), preview in the customer's language and script, Send through the
typed-reply path (guard, pairing, logging), refusals, unknown ids, asked-for values,
reopening a closed ticket, and two staff pressing Send at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import select

from storage import Customer, MacroRepo, MacroUse, MessageLog, MessagePair, TicketStatus
from tests.fakes.updates import callback_update
from tests.staff_harness import CUSTOMER, STAFF_CHAT, STAFF_USER, StaffEnv, staff_env

COLLEAGUE = 7003
OUTSIDER = 7999


def _topic_posts(env: StaffEnv, thread: int) -> list[dict[str, Any]]:
    return [
        c.params | {"message_id": c.result["message_id"]}
        for c in env.sent_to(STAFF_CHAT)
        if c.params.get("message_thread_id") == thread
    ]


def _buttons(post: dict[str, Any]) -> list[tuple[str, str]]:
    markup = post.get("reply_markup") or {}
    return [
        (b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row
    ]


async def _press(
    env: StaffEnv, thread: int, post: dict[str, Any], data: str, user: int = STAFF_USER
) -> None:
    update = callback_update(
        user, data, message_id=post["message_id"], chat_id=STAFF_CHAT,
        first_name="Wang Fang" if user == STAFF_USER else "Li Lei", message_text=post["text"],
    )  # fmt: skip
    update["callback_query"]["message"]["message_thread_id"] = thread
    update["callback_query"]["message"]["is_topic_message"] = True
    env.api.push_update(update)


async def _customer_texts(env: StaffEnv) -> list[str]:
    return [c.params["text"] for c in env.sent_to(CUSTOMER)]


async def _set_language(env: StaffEnv, language: str) -> None:
    async with env.services.database.transaction() as session:
        await session.execute(
            update(Customer).where(Customer.telegram_id == CUSTOMER).values(language=language)  # type: ignore[arg-type]
        )


async def _preview(env: StaffEnv, thread: int, command: str) -> dict[str, Any]:
    before = len(_topic_posts(env, thread))
    await env.staff(command, thread)
    await env.settle()
    posts = _topic_posts(env, thread)
    assert len(posts) == before + 1, posts[before:]
    return posts[-1]


async def test_list_is_grouped_and_paged_and_unknown_id_gives_it(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("我的快递三天还没到，我要投诉")
        listing = await _preview(env, thread, "/s")
        assert "delivery: delay.apology · delivery.late" in listing["text"]
        assert "refund: refund.confirm · refund.status" in listing["text"]
        assert "1/2" in listing["text"]
        buttons = _buttons(listing)
        ticket = await env.ticket()
        assert ("closing · closing.line", f"mac:o:{ticket.id}:closing.line") in buttons
        assert buttons[-1][1] == f"mac:l:{ticket.id}:2"  # next page
        await _press(env, thread, listing, f"mac:l:{ticket.id}:2")
        await env.settle()
        page = env.api.calls_of("editMessageText")[-1].params
        assert page["message_id"] == listing["message_id"] and "2/2" in page["text"]
        assert [b["callback_data"] for row in page["reply_markup"]["inline_keyboard"] for b in row][
            -1
        ] == f"mac:l:{ticket.id}:1"

        unknown = await _preview(env, thread, "/s no.such.macro")
        assert "no.such.macro" in unknown["text"] and "1/2" in unknown["text"]
        assert not await _customer_texts(env) or all(
            "no.such" not in t for t in await _customer_texts(env)
        )


async def test_preview_send_in_the_customers_script_and_relay_path(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("我的快递三天还没到，我要投诉")
        await _set_language(env, "zh-Hant")
        before = len(await _customer_texts(env))
        preview = await _preview(env, thread, "/s delivery.late")
        ticket = await env.ticket()
        assert "聯繫快遞公司" in preview["text"] and ticket.number in preview["text"]
        assert "zh-Hant" in preview["text"]
        labels = [label for label, _ in _buttons(preview)]
        assert labels == ["📨 发送", "✖️ 取消"]
        assert len(await _customer_texts(env)) == before, "a preview sends nothing"

        await _press(env, thread, preview, _buttons(preview)[0][1])
        await env.settle()
        texts = await _customer_texts(env)
        assert len(texts) == before + 1
        sent = texts[-1]
        assert "聯繫快遞公司" in sent and "联系" not in sent and ticket.number in sent
        assert "Wang Fang" not in sent  # anonymous, like a typed reply by default
        # the preview became the "sent" note, paired with the customer copy
        edited = env.api.calls_of("editMessageText")[-1].params
        assert edited["message_id"] == preview["message_id"] and "✅" in edited["text"]
        async with env.services.database.session() as session:
            pairs = list((await session.execute(select(MessagePair))).scalars())
            logged = list((await session.execute(select(MessageLog))).scalars())
        assert any(
            p.staff_message_id == preview["message_id"] and p.direction == "out" for p in pairs
        )
        assert any(m.direction == "out" and m.text and "聯繫快遞公司" in m.text for m in logged)
        ticket = await env.ticket()
        assert ticket.assignee_id == STAFF_USER and ticket.first_responded_at is not None


async def test_guard_still_applies_to_a_macro(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        before = len(await _customer_texts(env))
        preview = await _preview(env, thread, "/s delay.apology 下周，我无能为力")
        assert "我无能为力" in preview["text"]
        await _press(env, thread, preview, _buttons(preview)[0][1])
        await env.settle()
        assert len(await _customer_texts(env)) == before, "nothing reaches the customer"
        notice = _topic_posts(env, thread)[-1]["text"]
        assert "🚫" in notice and "我无能为力" in notice
        async with env.services.database.session() as session:
            [use] = list((await session.execute(select(MacroUse))).scalars())
        assert use.outcome == "cancelled"


async def test_non_staff_are_refused(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        await env.staff("/s", thread, user=OUTSIDER, first_name="Nobody")
        await env.settle()
        assert "📋" not in _topic_posts(env, thread)[-1]["text"]
        preview = await _preview(env, thread, "/s closing.line")
        before = len(await _customer_texts(env))
        await _press(env, thread, preview, _buttons(preview)[0][1], user=OUTSIDER)
        await env.settle()
        answer = env.api.calls_of("answerCallbackQuery")[-1].params
        assert answer.get("show_alert") and answer.get("text")
        assert len(await _customer_texts(env)) == before


async def test_missing_value_is_asked_for_then_previewed(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        before = len(await _customer_texts(env))
        prompt = await _preview(env, thread, "/s delay.apology")
        assert "new_deadline" in prompt["text"] and not _buttons(prompt)
        assert len(await _customer_texts(env)) == before
        # a reply to the prompt is the value, not a message for the customer
        await env.staff("12月3日 18:00", thread, reply_to_message_id=prompt["message_id"])
        await env.settle()
        assert len(await _customer_texts(env)) == before and not env.api.calls_of("copyMessage")[1:]
        preview = _topic_posts(env, thread)[-1]
        assert "12月3日 18:00" in preview["text"] and _buttons(preview)
        await _press(env, thread, preview, _buttons(preview)[0][1])
        await env.settle()
        assert "12月3日 18:00" in (await _customer_texts(env))[-1]


async def test_macro_in_a_closed_ticket_reopens_it(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate()
        await env.staff("/resolve", thread)
        await env.settle()
        env.clock.advance(days=5)
        assert len(await env.gateway.run_ticket_closer(env.bot)) == 1
        await env.settle()
        assert (await env.ticket()).status == TicketStatus.CLOSED
        preview = await _preview(env, thread, "/s closing.line")
        await _press(env, thread, preview, _buttons(preview)[0][1])
        await env.settle()
        assert (await env.ticket()).status == TicketStatus.WAITING_CUSTOMER
        assert not env.api.topics(STAFF_CHAT)[thread]["is_closed"]


async def test_two_staff_pressing_send_send_once(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        env.api.set_member(STAFF_CHAT, COLLEAGUE, "member")
        thread = await env.escalate()
        preview = await _preview(env, thread, "/s closing.thanks")
        before = len(await _customer_texts(env))
        data = _buttons(preview)[0][1]
        await _press(env, thread, preview, data)
        await _press(env, thread, preview, data, user=COLLEAGUE)
        await env.settle()
        assert len(await _customer_texts(env)) == before + 1
        answers = [c.params for c in env.api.calls_of("answerCallbackQuery")]
        assert sum(1 for a in answers if a.get("show_alert")) == 1  # "already sent"


async def test_suggestions_ride_on_the_relay_post_and_their_use_is_recorded(
    tmp_path: Path,
) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("我的快递三天还没到，我要投诉")
        ticket = await env.ticket()
        [copy] = [c for c in env.api.calls_of("copyMessage") if c.params["chat_id"] == STAFF_CHAT]
        suggested = [b["callback_data"] for row in copy.params["reply_markup"]["inline_keyboard"]
                     for b in row]  # fmt: skip
        assert suggested[0] == f"mac:o:{ticket.id}:delivery.late" and len(suggested) <= 3
        posts_before = len(_topic_posts(env, thread))

        # tapping the suggestion opens the same preview; sending it is a hit
        post = {"message_id": copy.result["message_id"], "text": "我的快递三天还没到，我要投诉"}
        await _press(env, thread, post, suggested[0])
        await env.settle()
        preview = _topic_posts(env, thread)[-1]
        assert len(_topic_posts(env, thread)) == posts_before + 1
        await _press(env, thread, preview, _buttons(preview)[0][1])
        await env.settle()

        # a message nothing fits gets a plain copy; one that fits and is answered by hand
        # counts as ignored
        await env.say("请问你们几点关门")
        await env.wait("copyMessage", 2, chat_id=STAFF_CHAT)
        await env.say("谢谢你们，问题解决了")
        await env.wait("copyMessage", 3, chat_id=STAFF_CHAT)
        await env.settle()
        copies = [
            c.params for c in env.api.calls_of("copyMessage") if c.params["chat_id"] == STAFF_CHAT
        ]
        assert not copies[1].get("reply_markup")
        assert copies[2]["reply_markup"]["inline_keyboard"][0][0]["callback_data"].endswith(
            "closing.thanks"
        )
        await env.staff("不客气，祝您生活愉快", thread)
        await env.settle()
        async with env.services.database.session() as session:
            usage = await MacroRepo(session).usage()
        assert usage.counts[("macro.delivery.late", "preview", "sent")] == 1
        assert usage.counts[("macro.delivery.late", "suggested", "sent")] == 1
        assert usage.counts[("macro.closing.thanks", "suggested", "ignored")] == 1
        assert (usage.lines, usage.hits) == (2, 1)


async def test_an_order_number_the_customer_gave_is_not_asked_for(tmp_path: Path) -> None:
    async with staff_env(tmp_path) as env:
        thread = await env.escalate("订单号 SF1234567890 的退款还没到账，我要投诉")
        preview = await _preview(env, thread, "/s refund.confirm")
        assert "SF1234567890" in preview["text"] and _buttons(preview)  # a preview, no prompt
        await _press(env, thread, preview, _buttons(preview)[0][1])
        await env.settle()
        assert "SF1234567890" in (await _customer_texts(env))[-1]
