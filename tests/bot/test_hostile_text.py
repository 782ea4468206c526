"""Broken text in updates: lone surrogates and NULs still get an answer in the right script."""

from __future__ import annotations

import re

from sqlmodel import select

from care.runtime.services import Services
from storage import MessageLog
from tests.bot.chat import Chat, plain

_TRADITIONAL_ONLY = re.compile("[處們為與聯這]")


async def test_a_lone_surrogate_still_gets_a_reply(chat: Chat, services: Services) -> None:
    sent = await chat.say("你好\ud83d")
    assert sent and plain(sent[-1])
    async with services.database.session() as session:
        rows = list((await session.execute(select(MessageLog))).scalars())
    assert any(row.text == "你好\ufffd" for row in rows)


async def test_a_trailing_nul_keeps_a_simplified_complaint_simplified(chat: Chat) -> None:
    sent = await chat.say("我的快递三天还没到,太慢了\x00")
    text = plain(sent[0])
    assert re.search(r"C-\d{8}-\d{4}", text), text
    assert not _TRADITIONAL_ONLY.search(text), text
    assert "抱歉" in text


async def test_a_broken_first_name_is_repaired(chat: Chat) -> None:
    sent = await chat.say("请问你们几点关门", first_name="Mei\ud83d\x00")
    assert sent and plain(sent[-1])
