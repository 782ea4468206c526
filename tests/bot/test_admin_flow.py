"""The managers' campaign console through the real routers: /campaigns, buttons, the
progress card edited as the campaign runs, and a non-admin refused."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram.methods import EditMessageText, SendMessage

from care.outreach.admin import CampaignAdmin, ProgressCard, progress_card_factory
from care.outreach.scheduler import CareScheduler
from care.outreach.sender import RunReport
from care.outreach.wiring import campaign_desk
from care.replies import Reply
from care.runtime.services import Services
from storage import CampaignStatus, DeliveryStatus, Tier
from tests.bot.chat import Chat
from tests.care.care_helpers import FakeSend, TimeMachine, add_customers, customer

ADMIN = 501
CUSTOMER = 777
_TAG = re.compile(r"<[^>]+>")


def _plain(method: SendMessage | EditMessageText) -> str:
    return html.unescape(_TAG.sub("", method.text))


def _buttons(method: SendMessage | EditMessageText) -> dict[str, str]:
    """callback data -> label of the message's inline keyboard."""
    markup: Any = method.reply_markup
    if markup is None:
        return {}
    return {b.callback_data: b.text for row in markup.inline_keyboard for b in row}


class Console(Chat):
    """A Chat that also returns the edits a button press makes (the console edits in place)."""

    async def click(self, data: str) -> EditMessageText | SendMessage:
        before = len(self.session.requests)
        await self.press(data)
        shown = [
            m
            for m in self.session.requests[before:]
            if isinstance(m, EditMessageText | SendMessage)
        ]
        assert shown, f"nothing shown for {data}"
        return shown[-1]


@pytest.fixture
async def admin_chat(services: Services) -> AsyncIterator[Console]:
    services.settings.admin_ids = [ADMIN]
    await add_customers(
        services.database,
        [
            customer(9001, tier_override="gold", surname="王", title="先生"),
            customer(9002, tier_override="silver"),
            customer(9003),
            customer(9004),
        ],
    )
    chat = Console(services, user_id=ADMIN)
    try:
        yield chat
    finally:
        await chat.close()


async def test_admin_creates_previews_sends_and_reads_the_report(
    admin_chat: Console, services: Services
) -> None:
    [home] = await admin_chat.say("/campaigns")
    assert "关怀活动" in _plain(home)
    assert "adm:new" in _buttons(home)

    occasions = await admin_chat.click("adm:new")
    choices = [d for d in _buttons(occasions) if d.startswith("adm:mk:")]
    assert choices, "the care calendar offers coming occasions"
    assert any(":new_year:2027-01-01" in d for d in choices)

    card = await admin_chat.click("adm:mk:spring_festival:2027-02-06")
    assert "春节" in _plain(card) and "draft" in _plain(card)
    campaign = (await campaign_desk(services).list_campaigns())[0]
    assert campaign.id is not None and campaign.script_gold == "greeting.spring_festival.gold"
    cid = campaign.id
    assert {f"adm:pv:{cid}", f"adm:sc:{cid}", f"adm:go:{cid}"} <= set(_buttons(card))

    preview = _plain(await admin_chat.click(f"adm:pv:{cid}"))
    assert "金牌 1，银牌 1，普通 2" in preview
    assert "梁小姐" in preview  # one rendered sample per tier (the sample customer)

    progress = await admin_chat.click(f"adm:go:{cid}")
    assert "0%" in _plain(progress) and "共 4 位" in _plain(progress)
    campaign = await campaign_desk(services).get(cid)
    assert campaign.status is CampaignStatus.SCHEDULED
    assert (campaign.progress_chat_id, campaign.progress_message_id) == (ADMIN, 1)

    # The leader's scheduler runs it and edits the card (the console message) as it goes.
    timer = TimeMachine(services.clock())
    edits: list[tuple[int, int, Reply]] = []

    async def edit(chat_id: int, message_id: int, reply: Reply) -> None:
        edits.append((chat_id, message_id, reply))

    send = FakeSend(timer)
    scheduler = CareScheduler(
        services,
        send,
        jobstore="sqlite://",
        timer=timer,
        progress=progress_card_factory(services, edit, every_n=1),
    )
    report = await scheduler.run_campaign(cid)
    assert report.total(DeliveryStatus.SENT) == 4
    assert edits and all(e[:2] == (ADMIN, 1) for e in edits)
    final = edits[-1][2].rendered.plain
    assert "100%" in final and "已发送 4" in final and "done" in final

    table = _plain(await admin_chat.click(f"adm:rp:{cid}"))
    assert re.search(r"gold\s+1 / 0 / 0 / 0 / 0", table)
    assert re.search(r"regular\s+2 / 0 / 0 / 0 / 0", table)


async def test_pause_resume_cancel_from_the_console(
    admin_chat: Console, services: Services
) -> None:
    campaign = await campaign_desk(services).create("mid_autumn")
    cid = campaign.id
    await admin_chat.click(f"adm:sc:{cid}")
    paused = await admin_chat.click(f"adm:pa:{cid}")
    assert "paused" in _plain(paused) and f"adm:re:{cid}" in _buttons(paused)
    resumed = await admin_chat.click(f"adm:re:{cid}")
    assert "scheduled" in _plain(resumed)
    cancelled = await admin_chat.click(f"adm:x:{cid}")
    assert "cancelled" in _plain(cancelled)
    refused = await admin_chat.click(f"adm:re:{cid}")  # a cancelled campaign cannot resume
    assert "无法执行" in _plain(refused)


async def test_scheduling_is_refused_with_reasons(admin_chat: Console, services: Services) -> None:
    campaign = await campaign_desk(services).create(
        "spring_festival", scripts={Tier.GOLD: None, Tier.SILVER: None, Tier.REGULAR: None}
    )
    shown = _plain(await admin_chat.click(f"adm:sc:{campaign.id}"))
    assert "无法执行" in shown and "no greeting script" in shown
    assert (await campaign_desk(services).get(campaign.id or 0)).status is CampaignStatus.DRAFT


async def test_a_non_admin_is_refused(admin_chat: Console, services: Services) -> None:
    campaign = await campaign_desk(services).create("spring_festival")
    stranger = Console(services, user_id=CUSTOMER)
    try:
        [answer] = await stranger.say("/campaigns")
        assert "仅供管理员使用" in _plain(answer)
        assert not _buttons(answer)
        forged = await stranger.click(f"adm:go:{campaign.id}")  # a hand-made callback
        assert "仅供管理员使用" in _plain(forged)
    finally:
        await stranger.close()
    unchanged = await campaign_desk(services).get(campaign.id or 0)
    assert unchanged.status is CampaignStatus.DRAFT and unchanged.progress_chat_id is None


async def test_progress_card_is_throttled(services: Services) -> None:
    campaign = await campaign_desk(services).create("spring_festival")
    campaign.progress_chat_id, campaign.progress_message_id = 1, 2
    now = [0.0]
    edits: list[Reply] = []

    async def edit(chat_id: int, message_id: int, reply: Reply) -> None:
        edits.append(reply)

    card = ProgressCard(
        CampaignAdmin(services),
        campaign,
        edit,
        every_n=100,
        every_seconds=5.0,
        monotonic=lambda: now[0],
    )

    def report(done: int, final: bool = False) -> RunReport:
        r = RunReport(campaign.id or 0, final=final)
        r.counts = {
            (Tier.REGULAR, DeliveryStatus.SENT): done,
            (Tier.REGULAR, DeliveryStatus.PENDING): 1000 - done,
        }
        return r

    await card(report(50))  # not enough yet
    await card(report(120))  # 100 more deliveries
    now[0] = 1.0
    await card(report(150))
    now[0] = 7.0
    await card(report(160))  # 5 s passed
    await card(report(170, final=True))  # the end of a run always shows
    assert len(edits) == 3
    assert "17%" in edits[-1].rendered.plain
