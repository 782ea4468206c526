"""Multi-turn dialogues through the real dispatcher: a conversation that remembers (issue 15).

Each test is one customer's conversation in zh-Hans, zh-Hant (Cantonese included) or
English. Assertions are on behaviour - which ticket a message joined, what was captured,
which kind of reply came back (the script id the log recorded), the ticket's priority -
not on exact wording, so operators may reword every script.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from aiogram.fsm.storage.memory import MemoryStorage
from sqlmodel import col, select
from typer.testing import CliRunner

from bot import build_dispatcher
from care.cli import app
from care.runtime.services import Services
from storage import MessageLog, Ticket, TicketEvent
from tests.bot.chat import Chat, plain
from tests.conftest import FakeClock
from tests.fakes.updates import (
    edited_text_update,
    photo_update,
    sticker_update,
    voice_update,
)

TICKET = re.compile(r"C-\d{8}-\d{4}")
#: Words that place a deadline in time, in each language's rendering.
DEADLINE = re.compile(r"今天|明天|後天|后天|\d{1,2}月\d{1,2}日|today|tomorrow|\d{1,2} [A-Z][a-z]+")
HANS, HANT, EN = "zh-Hans", "zh-Hant", "en"

COMPLAINT = {
    HANS: "我的快递三天还没到,太慢了",
    HANT: "我買嘅嘢壞咗，好嬲",
    EN: "I want to complain, the item arrived broken",
}
#: A second complaint on the same case, without clear anger.
AGAIN = {
    HANS: "都三天了还没人理我",
    HANT: "我要投訴",
    EN: "My parcel is a week late and nobody has told me anything",
}


async def _log(services: Services) -> list[MessageLog]:
    async with services.database.session() as session:
        rows = await session.execute(select(MessageLog).order_by(col(MessageLog.id)))
        return list(rows.scalars())


async def _events(services: Services) -> list[TicketEvent]:
    async with services.database.session() as session:
        return list((await session.execute(select(TicketEvent))).scalars())


async def _tickets(services: Services) -> list[Ticket]:
    async with services.database.session() as session:
        return list((await session.execute(select(Ticket))).scalars())


async def _one_ticket(services: Services) -> Ticket:
    tickets = await _tickets(services)
    assert len(tickets) == 1, [t.number for t in tickets]
    return tickets[0]


async def _sent_scripts(services: Services) -> list[str]:
    return [r.script_id or "" for r in await _log(services) if r.direction == "out"]


def _apologies(scripts: list[str | None]) -> int:
    """Full complaint apologies sent (complaint.ack, or its no-staff-group variant)."""
    return sum(1 for s in scripts if s in ("complaint.ack", "complaint.ack.later"))


async def _all_inbound_on(services: Services, ticket: Ticket) -> None:
    """Every inbound message since the ticket opened is on the ticket."""
    rows = [r for r in await _log(services) if r.direction == "in"]
    opened = next(i for i, r in enumerate(rows) if r.ticket_id == ticket.id)
    assert all(r.ticket_id == ticket.id for r in rows[opened:]), [
        (r.text, r.ticket_id) for r in rows[opened:]
    ]


async def _complain(chat: Chat, language: str) -> str:
    sent = await chat.say(COMPLAINT[language])
    found = TICKET.search(plain(sent[0]))
    assert found, plain(sent[0])
    return found.group()


def _reply(sent: list[Any]) -> str:
    assert sent, "the bot did not answer"
    return "\n".join(plain(m) for m in sent)


# -- follow-ups on an open ticket --------------------------------------------------------

FOLLOW_UP = {
    HANS: ("订单号是 SF1234567890", ["SF1234567890"]),
    HANT: ("單號係 HK88812345，我電話 91234567", ["HK88812345", "91234567"]),
    EN: ("Order JD0012345678, I paid $45.90 on 28 Nov", ["JD0012345678", "$45.90"]),
}


@pytest.mark.parametrize("language", [HANS, HANT, EN])
async def test_follow_up_details_join_the_open_ticket(
    chat: Chat, services: Services, language: str
) -> None:
    number = await _complain(chat, language)
    text, captured = FOLLOW_UP[language]
    reply = _reply(await chat.say(text))
    assert number in reply, reply
    for value in captured:
        assert value in reply, (value, reply)
    scripts = await _sent_scripts(services)
    assert scripts[-1] == "followup.added"
    assert not [s for s in scripts if s.startswith("faq.")], "asked again for what was given"
    ticket = await _one_ticket(services)
    await _all_inbound_on(services, ticket)


@pytest.mark.parametrize("language", [HANS, HANT, EN])
async def test_a_plain_follow_up_is_noted_on_the_ticket_not_answered_with_the_menu(
    chat: Chat, services: Services, language: str
) -> None:
    number = await _complain(chat, language)
    text = {
        HANS: "东西是在你们官网买的",
        HANT: "係喺你哋網店買嘅",
        EN: "I bought it on your website",
    }
    sent = await chat.say(text[language])
    assert number in _reply(sent)
    assert all(m.reply_markup is None for m in sent), "no menu on a follow-up"
    await _all_inbound_on(services, await _one_ticket(services))


async def test_a_photo_counts_as_a_detail_and_a_caption_is_read(
    chat: Chat, services: Services
) -> None:
    number = await _complain(chat, HANS)
    sent = await chat.feed(photo_update(chat.user_id, first_name=chat.first_name))
    reply = _reply(sent)
    assert number in reply and "1" in reply
    sent = await chat.feed(
        photo_update(chat.user_id, caption="订单号 SF7777777777", first_name=chat.first_name)
    )
    assert "SF7777777777" in _reply(sent)
    ticket = await _one_ticket(services)
    photos = [r for r in await _log(services) if r.direction == "in" and r.content_type == "photo"]
    assert len(photos) == 2 and all(r.ticket_id == ticket.id for r in photos)


async def test_order_number_the_faq_asked_for_opens_a_case_instead_of_asking_again(
    chat: Chat, services: Services
) -> None:
    await chat.say("我的快递到哪了")  # the FAQ asks for the order number
    reply = _reply(await chat.say("SF1234567890"))
    assert "SF1234567890" in reply and TICKET.search(reply), reply
    assert (await _one_ticket(services)).kind == "inquiry"
    assert (await _sent_scripts(services))[-1] == "followup.added"


# -- repeat complaints ---------------------------------------------------------------------


@pytest.mark.parametrize("language", [HANS, HANT, EN])
async def test_a_repeat_complaint_gets_a_short_acknowledgement_not_a_second_apology(
    chat: Chat, services: Services, language: str
) -> None:
    number = await _complain(chat, language)
    first = _reply(await chat.say(AGAIN[language]))
    assert number in first and DEADLINE.search(first), first
    scripts = await _sent_scripts(services)
    assert _apologies(scripts) == 1
    assert scripts[-1] == "complaint.repeat"
    ack = next(r.text for r in await _log(services) if r.script_id == "complaint.ack.later")
    assert len(first) < len(ack or ""), "the repeat must be shorter than the full apology"


@pytest.mark.parametrize("language", [HANS, HANT, EN])
async def test_the_third_complaint_raises_the_priority(
    chat: Chat, services: Services, language: str
) -> None:
    await _complain(chat, language)
    before = (await _one_ticket(services)).priority
    await chat.say(AGAIN[language])
    assert (await _one_ticket(services)).priority == before
    third = _reply(await chat.say(AGAIN[language]))
    assert TICKET.search(third)
    ticket = await _one_ticket(services)
    assert ticket.priority != before and ticket.priority.value == "urgent"
    assert _apologies(await _sent_scripts(services)) == 1
    # Raised once: a fourth complaint does not raise it again or repeat the notice.
    await chat.say(AGAIN[language])
    assert (await _sent_scripts(services)).count("complaint.raised") == 1
    # Staff learn of it on the ticket's trail even without a staff group (tickets show).
    notes = [e for e in await _events(services) if e.kind == "note"]
    assert len(notes) == 1 and ticket.number in (notes[0].text or "")


@pytest.mark.parametrize(
    "text", ["你们到底管不管啊，太差了!!!", "Still nothing, this is unacceptable"]
)
async def test_clear_anger_raises_the_priority_at_once(
    chat: Chat, services: Services, text: str
) -> None:
    await _complain(chat, EN if text.isascii() else HANS)
    await chat.say(text)
    assert (await _one_ticket(services)).priority.value == "urgent"
    assert (await _sent_scripts(services))[-1] == "complaint.raised"


# -- waiting customers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (HANS, "还有人吗"),
        (HANS, "快点,我等不及了"),
        (HANS, "?"),
        (HANT, "還有人嗎?"),
        (HANT, "有冇人呀"),
        (EN, "anyone there?"),
    ],
)
async def test_a_waiting_customer_is_reassured_with_the_next_deadline(
    chat: Chat, services: Services, language: str, text: str
) -> None:
    number = await _complain(chat, language)
    sent = await chat.say(text)
    reply = _reply(sent)
    assert number in reply and DEADLINE.search(reply), reply
    assert all(m.reply_markup is None for m in sent), "not the generic menu"
    assert (await _sent_scripts(services))[-1] == "followup.waiting"
    if language == HANT:
        assert re.search("[您妳你].*[處時間們這裡]|工單", reply), reply  # Traditional script


async def test_after_hours_a_waiting_customer_hears_when_staff_are_back(
    chat: Chat, services: Services, clock: FakeClock
) -> None:
    clock.advance(hours=12)  # 22:00 in Shanghai
    await _complain(chat, HANS)
    reply = _reply(await chat.say("还有人吗"))
    assert "明天" in reply and "09:00" in reply, reply


async def test_waiting_without_any_case_gets_a_short_answer_and_the_menu(chat: Chat) -> None:
    await chat.say("请问你们几点关门")
    sent = await chat.say("在吗")
    assert sent[-1].reply_markup is not None
    assert not TICKET.search(_reply(sent))


# -- thanks, OK, goodbye, praise, suggestions ---------------------------------------------


@pytest.mark.parametrize(
    ("language", "text"), [(HANS, "谢谢"), (HANT, "唔該晒"), (EN, "thanks!"), (HANS, "好的")]
)
async def test_thanks_after_a_complaint_closes_politely_and_keeps_the_ticket(
    chat: Chat, services: Services, language: str, text: str
) -> None:
    number = await _complain(chat, language)
    reply = _reply(await chat.say(text))
    assert number in reply
    scripts = await _sent_scripts(services)
    closing = "followup.ok" if text == "好的" else "followup.closing"
    assert scripts[-1] == closing and "feedback.thanks" not in scripts
    assert (await _one_ticket(services)).status.value == "new"  # still open


@pytest.mark.parametrize(
    ("question", "thanks"),
    [
        ("请问你们几点关门", "谢谢"),
        ("幾點開門呀", "多謝"),
        ("what are your opening hours", "ok thanks"),
    ],
)
async def test_thanks_after_an_answer_is_a_short_closing(
    chat: Chat, services: Services, question: str, thanks: str
) -> None:
    await chat.say(question)
    sent = await chat.say(thanks)
    assert len(sent) == 1 and sent[0].reply_markup is None
    assert (await _sent_scripts(services))[-1] == "chat.closing"
    assert not await _tickets(services)


@pytest.mark.parametrize(
    "text", ["你们的服务很好,店员很热情", "你哋啲店員好好人，服務好好", "great service, love it"]
)
async def test_praise_is_thanked_as_praise(chat: Chat, services: Services, text: str) -> None:
    await chat.say(text)
    assert (await _sent_scripts(services))[-1] == "feedback.praise"


@pytest.mark.parametrize(
    "text", ["建议你们增加晚上的营业时间", "I suggest you open later on weekends"]
)
async def test_a_suggestion_is_acknowledged_as_a_suggestion(
    chat: Chat, services: Services, text: str
) -> None:
    await chat.say(text)
    assert (await _sent_scripts(services))[-1] == "feedback.thanks"


# -- commands -----------------------------------------------------------------------------


@pytest.mark.parametrize(("command", "code"), [("/resolve", "zh-hans"), ("/take 3", "en")])
async def test_an_unknown_command_is_not_feedback(
    chat: Chat, services: Services, command: str, code: str
) -> None:
    sent = await chat.say(command, language_code=code)
    assert sent[-1].reply_markup is not None  # the menu
    scripts = await _sent_scripts(services)
    assert scripts == ["command.unknown", "menu.prompt"]
    assert not await _tickets(services)


# -- honest escalation without a staff group ----------------------------------------------


@pytest.mark.parametrize(
    ("language", "ask"), [(HANS, "转人工"), (HANT, "我要搵真人"), (EN, "talk to a person")]
)
async def test_without_a_staff_group_no_live_transfer_is_promised(
    chat: Chat, services: Services, language: str, ask: str
) -> None:
    assert services.settings.staff_chat_id is None
    reply = _reply(await chat.say(ask))
    number = TICKET.search(reply)
    assert number and DEADLINE.search(reply), reply
    assert not re.search("转接|轉接|马上|馬上|right away|put you through|passed you", reply), reply
    assert (await _sent_scripts(services))[0] == "handoff.ack.later"
    follow = {HANS: "是昨天买的电视", HANT: "係尋日買嘅電視", EN: "It's the TV I bought yesterday"}
    await chat.say(follow[language])
    await _all_inbound_on(services, await _one_ticket(services))


# -- bad input ----------------------------------------------------------------------------


async def test_media_without_caption_and_stickers_are_recorded_and_answered_once(
    chat: Chat, services: Services
) -> None:
    sent = await chat.feed(sticker_update(chat.user_id, first_name=chat.first_name))
    assert len(sent) == 1  # the polite "text please", no ticket
    number = await _complain(chat, HANS)
    for update in (
        sticker_update(chat.user_id, first_name=chat.first_name),
        voice_update(chat.user_id, first_name=chat.first_name),
    ):
        sent = await chat.feed(update)
        assert len(sent) == 1 and number in plain(sent[0])
    rows = [r for r in await _log(services) if r.direction == "in"]
    assert [r.content_type for r in rows] == ["sticker", "text", "sticker", "voice"]
    ticket = await _one_ticket(services)
    assert [r.ticket_id for r in rows[1:]] == [ticket.id] * 3


async def test_an_edit_of_an_old_message_is_recorded_and_not_answered(
    chat: Chat, services: Services
) -> None:
    await _complain(chat, HANS)
    sent = await chat.say("订单号 123456789012")
    assert sent
    first = [r for r in await _log(services) if r.direction == "in"][-1]
    edited = edited_text_update(
        chat.user_id,
        "订单号 SF999888777666",
        message_id=first.telegram_message_id,
        first_name=chat.first_name,
    )
    assert await chat.feed(edited) == []
    ticket = await _one_ticket(services)
    texts = [r.text for r in await _log(services) if r.ticket_id == ticket.id]
    assert "订单号 SF999888777666" in texts and "订单号 123456789012" in texts


async def test_a_burst_of_100_messages_is_recorded_whole_and_noticed_once(
    chat: Chat, services: Services
) -> None:
    number = await _complain(chat, HANS)
    matched_before = services.intents.matches
    for n in range(100):
        await chat.say(f"第{n}条：快点处理")
    # Once refused, the customer's burst is no longer matched (nor encoded) only to be
    # dropped: about the window's messages are, not all hundred.
    limit = services.settings.staff.flood_per_minute
    assert services.intents.matches - matched_before <= limit + 2
    rows = await _log(services)
    inbound = [r for r in rows if r.direction == "in"]
    assert len(inbound) == 101
    ticket = await _one_ticket(services)
    assert all(r.ticket_id == ticket.id for r in inbound)
    scripts = [r.script_id for r in rows if r.direction == "out"]
    assert scripts.count("flood.notice") == 1
    notes = [e for e in await _events(services) if e.kind == "note"]
    assert len(notes) == 1 and number in (notes[0].text or "")
    assert limit >= 30  # a fast typist is not throttled
    answered = len(scripts) - scripts.count("flood.notice") - _apologies(scripts)
    assert answered == limit - 1, scripts  # the window's messages, then quiet
    # Nothing is answered twice: one reply per message the window allowed.
    shown = await _export(services, number)
    assert sum(1 for line in shown["transcript"] if line["direction"] == "in") == 101


async def test_a_flood_window_passes_and_the_customer_is_answered_again(
    chat: Chat, services: Services, clock: FakeClock
) -> None:
    for _ in range(services.settings.staff.flood_per_minute + 3):
        await chat.say("你好")
    clock.advance(minutes=1, seconds=1)
    sent = await chat.say("请问你们几点关门")
    assert "09:00" in _reply(sent)  # the [business_hours] default
    scripts = await _sent_scripts(services)
    assert scripts.count("flood.notice") == 1


# -- the record: tickets show / export -----------------------------------------------------


async def _export(services: Services, number: str) -> dict[str, Any]:
    """`carebot tickets export --format jsonl`, the operator's view of the ticket."""

    def run() -> Any:
        return CliRunner().invoke(
            app,
            ["tickets", "export", "--format", "jsonl"],
            env={"DATABASE_URL": services.settings.database_url},
        )

    result = await asyncio.to_thread(run)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    return next(r for r in records if r["number"] == number)


@pytest.mark.parametrize("language", [HANS, HANT, EN])
async def test_every_message_of_a_mixed_dialogue_is_in_the_ticket_export(
    chat: Chat, services: Services, language: str
) -> None:
    lines = {
        HANS: ["我的快递三天还没到,太慢了", "订单号 SF1234567890", "还有人吗", "谢谢", "/resolve"],
        HANT: ["我買嘅嘢壞咗，好嬲", "單號係 HK88812345", "有冇人呀", "唔該", "/take"],
        EN: ["I want to complain, the item arrived broken", "order JD0012345678", "hello?", "ok"],
    }[language]
    for line in lines:
        await chat.say(line)
    await chat.feed(photo_update(chat.user_id, first_name=chat.first_name))
    number = (await _one_ticket(services)).number
    record = await _export(services, number)
    said = [line["text"] for line in record["transcript"] if line["direction"] == "in"]
    assert said == [*lines, None], said
    answers = [line for line in record["transcript"] if line["direction"] == "out"]
    assert answers and all(line["text"] for line in answers)


# -- state across workers ------------------------------------------------------------------


async def test_the_conversation_state_is_shared_through_the_fsm_storage(
    services: Services,
) -> None:
    """Two dispatchers (two workers) over one storage remember one conversation."""
    storage = MemoryStorage()
    workers = []
    for _ in range(2):
        chat = Chat(services)
        chat.dispatcher = build_dispatcher(services, storage)
        workers.append(chat)
    try:
        await _complain(workers[0], HANS)
        await workers[1].say(AGAIN[HANS])
        await workers[0].say(AGAIN[HANS])
        assert (await _one_ticket(services)).priority.value == "urgent"
        scripts = await _sent_scripts(services)
        assert _apologies(scripts) == 1 and "complaint.raised" in scripts
    finally:
        for chat in workers:
            await chat.close()


async def test_the_conversation_state_is_shared_through_redis(
    services: Services, redis_url: str, redis_prefix: str
) -> None:
    from aiogram.fsm.storage.base import DefaultKeyBuilder
    from aiogram.fsm.storage.redis import RedisStorage

    storages = [
        RedisStorage.from_url(redis_url, key_builder=DefaultKeyBuilder(prefix=redis_prefix))
        for _ in range(2)
    ]
    workers = []
    for storage in storages:
        chat = Chat(services)
        chat.dispatcher = build_dispatcher(services, storage)
        workers.append(chat)
    try:
        await _complain(workers[0], EN)
        second = _reply(await workers[1].say(AGAIN[EN]))
        assert TICKET.search(second)
        await workers[0].say(AGAIN[EN])
        scripts = await _sent_scripts(services)
        assert _apologies(scripts) == 1 and "complaint.raised" in scripts
    finally:
        for chat in workers:
            await chat.close()
        for storage in storages:
            await storage.close()


@pytest.mark.parametrize(("language", "bye"), [(HANS, "拜拜"), (HANT, "再見"), (EN, "bye")])
async def test_goodbye_after_an_answer_and_on_an_open_ticket(
    chat: Chat, services: Services, language: str, bye: str
) -> None:
    question = {HANS: "请问你们几点关门", HANT: "幾點開門呀", EN: "what are your opening hours"}
    await chat.say(question[language])
    await chat.say(bye)
    assert (await _sent_scripts(services))[-1] == "chat.bye"
    number = await _complain(chat, language)
    assert number in _reply(await chat.say(bye))
    assert (await _sent_scripts(services))[-1] == "followup.ok"
    assert (await _one_ticket(services)).status.value == "new"
