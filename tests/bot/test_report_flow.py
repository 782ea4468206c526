"""Reports in Telegram through the real routers: /report for a manager (summary + chart +
7/30/90 buttons), the managers-only reply for anyone else, and the weekly digest sent once
per week, across restarts."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time

from aiogram.methods import SendMessage, SendPhoto

from care.reports.config import ReportSettings
from care.reports.telegram import ReportCard, WeeklyDigest
from care.runtime.services import Services
from tests.bot.chat import Chat
from tests.conftest import FakeClock

ADMIN = 501
_TAG = re.compile(r"<[^>]+>")
_PNG = b"\x89PNG\r\n\x1a\n"


def _photos(chat: Chat, since: int) -> list[SendPhoto]:
    return [m for m in chat.session.requests[since:] if isinstance(m, SendPhoto)]


async def test_report_for_a_manager_and_the_managers_only_reply(services: Services) -> None:
    services.settings.admin_ids = [ADMIN]
    manager, customer = Chat(services, user_id=ADMIN), Chat(services, user_id=777)
    try:
        before = len(manager.session.requests)
        await manager.say("/report")
        [photo] = _photos(manager, before)
        caption = html.unescape(_TAG.sub("", photo.caption or ""))
        assert "客户关怀报告" in caption
        assert "投诉 0" in caption  # an empty database: zeros ...
        assert "暂无数据" in caption  # ... and "no data" where a ratio has no denominator
        buttons = {b.callback_data: b.text for row in photo.reply_markup.inline_keyboard
                   for b in row}  # type: ignore[union-attr]  # fmt: skip
        assert buttons == {"rpt:7": "近 7 天", "rpt:30": "近 30 天", "rpt:90": "近 90 天"}
        file = photo.photo
        assert getattr(file, "data", b"").startswith(_PNG)

        before = len(manager.session.requests)
        await manager.press("rpt:90")
        [longer] = _photos(manager, before)
        assert "（90 天）" in html.unescape(longer.caption or "")

        replies = await customer.say("/report")
        assert [_TAG.sub("", r.text) for r in replies] == ["抱歉，这个功能仅供管理员使用。"]
        replies = await customer.press("rpt:30")  # a forged button gets the same
        assert all(isinstance(r, SendMessage) for r in replies)
        assert not _photos(customer, 0)
    finally:
        await manager.close()
        await customer.close()


async def test_weekly_digest_once_per_week_across_restarts(
    services: Services, clock: FakeClock
) -> None:
    services.settings.admin_ids = [ADMIN, 502]
    services.settings.reports = ReportSettings(weekly_digest="MON 09:00")
    sent: list[tuple[int, ReportCard]] = []

    async def send(chat_id: int, card: ReportCard) -> None:
        sent.append((chat_id, card))

    clock.now = datetime(2026, 11, 30, 0, 59, tzinfo=UTC)  # Monday 08:59 in Shanghai
    assert await WeeklyDigest(services, send).run_if_due() is False
    clock.advance(minutes=2)  # 09:01
    assert await WeeklyDigest(services, send).run_if_due() is True
    assert [chat for chat, _ in sent] == [ADMIN, 502]
    card = sent[0][1]
    assert card.reply.text.startswith("<b>每周客户关怀简报</b>")
    assert "2026-11-23 至 2026-11-29" in card.reply.text  # the 7 days before Monday
    assert card.chart is not None and card.chart.startswith(_PNG)
    assert not card.reply.buttons
    # Later the same week, and after a restart (a new digest object): nothing more.
    clock.advance(hours=30)
    assert await WeeklyDigest(services, send).run_if_due() is False
    assert len(sent) == 2
    # The next Monday's slot: sent again, to the configured chat instead of the managers.
    services.settings.reports = ReportSettings(weekly_digest="MON 09:00", digest_chat_id=-100)
    clock.now = datetime(2026, 12, 7, 1, 30, tzinfo=UTC)
    assert await WeeklyDigest(services, send).run_if_due() is True
    assert [chat for chat, _ in sent[2:]] == [-100]
    clock.advance(days=1)
    assert await WeeklyDigest(services, send).run_if_due() is False


def test_digest_setting_is_validated() -> None:
    assert ReportSettings(weekly_digest="fri 17:30").digest_slot() == (4, time(17, 30))
    for bad in ("MONDAY 09:00", "MON 25:00", "09:00"):
        try:
            ReportSettings(weekly_digest=bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
