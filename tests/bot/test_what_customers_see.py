"""What customers and staff read: the complaint's handoff button, hours from the settings,
Chinese tier names in topic titles, one full stop in the "blocked" notice."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import time

import pytest
from sqlmodel import select

from care.runtime.services import Services, build_services
from care.runtime.settings import load_settings
from storage import Ticket
from tests.bot.chat import Chat, plain
from tests.care.care_helpers import add_customers, customer

TICKET = re.compile(r"C-\d{8}-\d{4}")


async def _tickets(services: Services) -> list[Ticket]:
    async with services.database.session() as session:
        return list((await session.execute(select(Ticket))).scalars())


@pytest.fixture
async def staffed_services(database_url: str) -> AsyncIterator[Services]:
    built = build_services(load_settings(database_url=database_url, staff_chat_id=-100123))
    await built.database.upgrade()
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def staffed(staffed_services: Services) -> AsyncIterator[Chat]:
    """A chat with a staff group configured: complaints get the full complaint.ack."""
    chat = Chat(staffed_services)
    try:
        yield chat
    finally:
        await chat.close()


async def test_the_complaint_ack_has_the_button_it_mentions(
    staffed: Chat, staffed_services: Services
) -> None:
    sent = await staffed.say("我的快递三天还没到,太慢了")
    ack = sent[0]
    assert "联系人工客服" in plain(ack)
    assert ack.reply_markup is not None
    [[button]] = ack.reply_markup.inline_keyboard
    assert (button.text, button.callback_data) == ("联系人工客服", "menu:human")
    number = TICKET.search(plain(ack))
    assert number

    handed = await staffed.press("menu:human")  # a real handoff, on the same ticket
    assert number.group() in plain(handed[0])
    assert [t.number for t in await _tickets(staffed_services)] == [number.group()]


async def test_the_english_ack_has_it_too(staffed: Chat) -> None:
    sent = await staffed.say("My parcel is three days late, this is terrible service")
    assert 'tap "Talk to a person"' in plain(sent[0])
    assert sent[0].reply_markup is not None
    [[button]] = sent[0].reply_markup.inline_keyboard
    assert (button.text, button.callback_data) == ("Talk to a person", "menu:human")


async def test_without_a_staff_group_no_button_is_promised(chat: Chat) -> None:
    sent = await chat.say("我的快递三天还没到,太慢了")
    assert "联系人工客服" not in plain(sent[0]) and sent[0].reply_markup is None


async def test_the_hours_faq_says_the_configured_business_hours(chat: Chat) -> None:
    text = plain((await chat.say("请问你们几点关门"))[0])
    assert "每天 09:00-21:00" in text and "10:00" not in text, text


@pytest.fixture
async def weekday_services(database_url: str) -> Services:
    settings = load_settings(
        database_url=database_url,
        business_hours={"open": time(8, 30), "close": time(18, 0), "weekdays": [0, 1, 2, 3, 4]},
    )
    built = build_services(settings)
    await built.database.upgrade()
    yield built  # type: ignore[misc]
    await built.aclose()


async def test_changed_business_hours_reach_every_language(weekday_services: Services) -> None:
    chat = Chat(weekday_services)
    try:
        zh = plain((await chat.say("请问你们几点关门"))[0])
        assert "周一至周五 08:30-18:00" in zh, zh
        hant = plain((await chat.say("請問你們幾點關門"))[0])
        assert "週一至週五 08:30-18:00" in hant, hant
        en = plain((await chat.say("what are your opening hours?", language_code="en"))[0])
        assert "Monday to Friday 08:30-18:00" in en, en
        contact = plain((await chat.say("怎么联系你们的客服"))[0])
        assert "周一至周五 08:30-18:00" in contact or "营业" in contact, contact
    finally:
        await chat.close()


@pytest.mark.parametrize(
    ("tier", "badge"), [("gold", "🥇金牌"), ("silver", "🥈银牌"), (None, "👤普通")]
)
async def test_topic_names_show_the_tier_in_chinese(
    services: Services, tier: str | None, badge: str
) -> None:
    await add_customers(
        services.database, [customer(501, surname="梁", title="小姐", tier_override=tier)]
    )
    chat = Chat(services)
    try:
        await chat.say("我的快递三天还没到,太慢了")
    finally:
        await chat.close()
    [ticket] = await _tickets(services)
    async with services.unit_of_work() as repos:
        name = await services.staff.topic_name(repos, ticket)
    assert name == f"{ticket.number} {badge} 梁小姐"
    assert not re.search("gold|silver|regular", name)


async def test_the_blocked_notice_ends_each_part_once(services: Services) -> None:
    notice = await services.staff.edit_allowed("这是公司的规定，我也没办法")
    assert notice is not None
    text = notice.rendered.plain
    assert "原因：" in text and "。。" not in text, text
    assert not re.search(r"[。.]\s*[。.]", text), text
