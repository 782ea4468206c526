"""Customer conversations through the real routers, matcher, scripts and database."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from care.runtime.services import Services
from storage import Customer, MessageLog, Ticket
from tests.bot.chat import Chat, plain
from tests.fakes.updates import (
    callback_update,
    location_update,
    photo_update,
    sticker_update,
    voice_update,
)

TICKET = re.compile(r"C-\d{8}-\d{4}")


async def _rows(services: Services, model: type) -> list:
    async with services.database.session() as session:
        return list((await session.execute(select(model))).scalars())


async def test_start_welcomes_and_shows_the_menu(chat: Chat) -> None:
    sent = await chat.say("/start", language_code="en")
    assert len(sent) == 2
    menu = sent[-1].reply_markup
    assert menu is not None
    data = [row[0].callback_data for row in menu.inline_keyboard]
    assert data == ["menu:inquiry", "menu:complaint", "menu:feedback", "menu:human"]


async def test_a_slash_command_does_not_switch_the_customer_to_english(chat: Chat) -> None:
    # "/start" has Latin letters but is not the customer writing English.
    welcome = await chat.say("/start", language_code="zh-hans")
    assert "您好" in plain(welcome[0]) or "欢迎" in plain(welcome[0]), plain(welcome[0])
    await chat.say("请问你们几点关门")
    menu = await chat.say("/menu")  # an unknown command gets the menu, still in Chinese
    assert re.search(r"[\u4e00-\u9fff]", plain(menu[-1])), plain(menu[-1])
    english = await chat.say("/start what are your opening hours?")
    assert "Hello" in plain(english[0]) or "Welcome" in plain(english[0]), plain(english[0])


async def test_complaint_gets_apology_ticket_and_deadline(chat: Chat, services: Services) -> None:
    sent = await chat.say("我的快递三天还没到,太慢了")
    text = plain(sent[0])
    number = TICKET.search(text)
    assert number, text
    assert re.search("抱歉|对不起", text.split(number.group())[0]), "apology must come first"
    assert "今天" in text or "明天" in text  # the promised deadline, in local words
    tickets = await _rows(services, Ticket)
    assert [t.number for t in tickets] == [number.group()]
    assert tickets[0].kind == "complaint"
    assert tickets[0].first_response_due > tickets[0].created_at


async def test_second_complaint_message_joins_the_open_ticket(
    chat: Chat, services: Services
) -> None:
    first = TICKET.search(plain((await chat.say("你们的服务太差了,我要投诉"))[0]))
    second = TICKET.search(plain((await chat.say("为什么还没退款?!"))[0]))
    assert first and second and first.group() == second.group()
    assert len(await _rows(services, Ticket)) == 1


async def test_inquiry_is_answered_from_the_faq(chat: Chat) -> None:
    sent = await chat.say("请问你们几点关门")
    assert "10:00" in plain(sent[0]) or "21:00" in plain(sent[0])


async def test_traditional_in_traditional_out(chat: Chat) -> None:
    sent = await chat.say("請問你們幾點關門")
    text = plain(sent[0])
    assert "營業" in text or "時間" in text, text


async def test_english_in_english_out(chat: Chat) -> None:
    sent = await chat.say("What time do you close?")
    assert re.search(r"[A-Za-z]{3,}", plain(sent[0]))
    assert not re.search(r"[\u4e00-\u9fff]", plain(sent[0]))


async def test_feedback_is_thanked_and_recorded(chat: Chat, services: Services) -> None:
    sent = await chat.say("你们的店员很热情,服务很好,点赞!")
    assert "谢" in plain(sent[0])
    logged = [m for m in await _rows(services, MessageLog) if m.direction == "in"]
    assert logged[-1].intent == "feedback"


async def test_unclear_message_gets_the_menu(chat: Chat) -> None:
    sent = await chat.say("你好")
    assert sent[-1].reply_markup is not None


@pytest.mark.parametrize("factory", [sticker_update, photo_update, voice_update, location_update])
async def test_media_get_a_polite_reply_and_are_logged(
    chat: Chat, services: Services, factory: object
) -> None:
    sent = await chat.feed(factory(chat.user_id))  # type: ignore[operator]
    assert len(sent) == 1 and plain(sent[0])
    inbound = [m for m in await _rows(services, MessageLog) if m.direction == "in"]
    assert inbound[-1].content_type != "text"


async def test_menu_complaint_then_text_opens_a_ticket(chat: Chat, services: Services) -> None:
    await chat.say("/start")
    prompt = await chat.press("menu:complaint")
    assert prompt and plain(prompt[0])
    sent = await chat.say("衣服尺码发错了")  # not obviously a complaint on its own
    assert TICKET.search(plain(sent[0]))


async def test_asking_for_a_person_opens_a_handoff_ticket(chat: Chat, services: Services) -> None:
    sent = await chat.say("转人工")
    assert TICKET.search(plain(sent[0]))
    assert (await _rows(services, Ticket))[0].kind == "inquiry"


async def test_the_talk_to_a_person_button_keeps_the_customers_username(
    chat: Chat, services: Services
) -> None:
    await chat.say("你好", username="mei_liang")
    sent = await chat.feed(
        callback_update(chat.user_id, "menu:human", message_id=1, username="mei_liang")
    )
    assert TICKET.search(plain(sent[0]))  # handed over: a ticket for the staff group
    [customer] = await _rows(services, Customer)
    assert customer.username == "mei_liang"  # the staff card shows @mei_liang


async def test_every_outgoing_message_logs_script_and_version(
    chat: Chat, services: Services
) -> None:
    await chat.say("我要投诉,东西坏了")
    await chat.say("请问你们几点关门")
    outbound = [m for m in await _rows(services, MessageLog) if m.direction == "out"]
    assert outbound and all(m.script_id and m.script_version for m in outbound)
    # No staff group here: the apology's variant that promises no live transfer.
    assert {m.script_id for m in outbound} >= {"complaint.ack.later", "faq.hours"}


HOSTILE = [
    "{{ 7*7 }}",
    "{% for x in range(3) %}x{% endfor %}",
    "<b>bold</b> & <script>alert(1)</script>",
    "'; DROP TABLE customer;--",
    "\x00\x07\x1b[31mred",
    "😀😀😀",
    "   ",
    "1234567890",
    "我" * 4096,
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_bad_input_is_handled_and_stored_verbatim(
    chat: Chat, services: Services, text: str
) -> None:
    sent = await chat.say(text)
    assert sent, "every message gets an answer"
    for message in sent:
        assert "49" not in plain(message) or "49" in text
    inbound = [m for m in await _rows(services, MessageLog) if m.direction == "in"]
    assert inbound[-1].text == text


async def test_hostile_first_name_is_shown_literally(services: Services) -> None:
    talk = Chat(services, user_id=777, first_name="<b>{{ 7*7 }}</b>")
    try:
        sent = await talk.say("我要投诉,快递太慢了")
    finally:
        await talk.close()
    html_text = sent[0].text
    assert "<b>{{" not in html_text  # never interpreted as markup
    assert "&lt;b&gt;{{ 7*7 }}&lt;/b&gt;" in html_text  # shown literally, not evaluated
    async with services.database.session() as session:
        customer = (await session.execute(select(Customer))).scalars().one()
    assert customer.first_name == "<b>{{ 7*7 }}</b>"
