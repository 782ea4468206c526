"""End to end: the real `carebot run` code path against a loopback fake Bot API server."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
from sqlmodel import select

from bot.runners.polling import run_polling
from care.runtime.settings import load_settings
from storage import Database, MessageLog, Ticket
from tests.fakes import FakeBotAPI
from tests.fakes.updates import sticker_update, text_update
from tests.progress import finish, wait_until

TOKEN = "42:TEST"
TICKET = re.compile(r"C-\d{8}-\d{4}")


async def test_polling_bot_answers_complaint_inquiry_feedback_and_sticker(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
    async with FakeBotAPI(token=TOKEN) as api:
        # Staff on duty around the clock: this test runs on the real clock, and outside
        # business hours a complaint gets an extra "we're closed" message.
        settings = load_settings(
            bot_token=TOKEN,
            telegram_api_url=api.base_url,
            database_url=db_url,
            business_hours={"open": "00:00", "close": "00:00"},
        )
        stop = asyncio.Event()
        polling = asyncio.create_task(run_polling(settings, handle_signals=False, stop=stop))
        try:
            api.push_update(text_update(9001, "我的快递三天还没到,太慢了", first_name="Liang"))
            await api.wait_for(method="sendMessage", count=1, timeout=60)
            api.push_update(text_update(9001, "请问你们几点关门"))
            await api.wait_for(method="sendMessage", count=2, timeout=10)
            api.push_update(text_update(9001, "你们的服务很好,谢谢店员的耐心"))
            await api.wait_for(method="sendMessage", count=3, timeout=10)
            api.push_update(sticker_update(9001))
            await api.wait_for(method="sendMessage", count=4, timeout=10)
        finally:
            stop.set()
            await finish(polling, "polling to stop")

        texts = [call.params["text"] for call in api.calls_of("sendMessage")]
        assert all(call.params["chat_id"] == 9001 for call in api.calls_of("sendMessage"))

    number = TICKET.search(texts[0])
    assert number, texts[0]
    assert "营业时间：每天 24 小时" in texts[1], texts[1]  # open round the clock, as set above
    assert "谢" in texts[2]
    assert texts[3]

    database = Database(db_url)
    try:
        async with database.session() as session:
            tickets = list((await session.execute(select(Ticket))).scalars())
            logs = list((await session.execute(select(MessageLog))).scalars())
    finally:
        await database.dispose()
    assert [t.number for t in tickets] == [number.group()]
    assert sum(1 for m in logs if m.direction == "in") == 4
    assert sum(1 for m in logs if m.direction == "out") == 4


async def test_run_warns_at_start_without_a_staff_group(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No STAFF_CHAT_ID: the operator is told hand-offs are replies by the deadline, not live."""
    async with FakeBotAPI(token=TOKEN) as api:
        for staff_chat_id in (None, -1001234567890):
            caplog.clear()
            settings = load_settings(
                bot_token=TOKEN,
                telegram_api_url=api.base_url,
                database_url=f"sqlite+aiosqlite:///{tmp_path / 'warn.db'}",
                staff_chat_id=staff_chat_id,
            )
            stop = asyncio.Event()
            with caplog.at_level(logging.WARNING, logger="carebot.polling"):
                polling = asyncio.create_task(
                    run_polling(settings, handle_signals=False, stop=stop)
                )
                try:
                    await wait_until(
                        lambda: any("is running as" in r.message for r in caplog.records),
                        "the start-up line",
                    )
                finally:
                    stop.set()
                    await finish(polling, "polling to stop")
            warned = [r.message for r in caplog.records if "STAFF_CHAT_ID" in r.message]
            if staff_chat_id is None:
                assert warned and "no live transfer" in warned[0]
            else:
                assert not warned
