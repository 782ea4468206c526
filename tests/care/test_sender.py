"""The ledger sender: pacing, 429 storms, 403, 400, retries, crash-resume, quiet hours."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from care.outreach.campaigns import CampaignDesk
from care.outreach.sender import (
    SENDING_LOST,
    Blocked,
    ChatNotFound,
    RetryAfter,
    Transient,
)
from care.outreach.wiring import campaign_desk, campaign_sender
from care.runtime.services import Services
from storage import CampaignStatus, Customer, DeliveryRepo, DeliveryStatus, Tier
from tests.care.care_helpers import FakeSend, TimeMachine, add_customers, customer


class Crash(BaseException):
    """Stands in for kill -9: escapes every `except Exception`."""


@pytest.fixture
def timer() -> TimeMachine:
    return TimeMachine()


@pytest.fixture
def desk(services: Services) -> CampaignDesk:
    return campaign_desk(services)


async def _campaign(services: Services, desk: CampaignDesk, n: int = 10, **extra: object) -> int:
    await add_customers(services.database, [customer(1000 + i, **extra) for i in range(n)])
    campaign = await desk.create("spring_festival")
    assert campaign.id is not None
    await desk.send_now(campaign.id)
    return campaign.id


async def test_sends_every_recipient_once_with_opt_out_button(services, desk, timer) -> None:
    cid = await _campaign(services, desk, 5)
    send = FakeSend(timer)
    report = await campaign_sender(services, send, timer=timer).run(cid)
    assert report.status is CampaignStatus.DONE
    assert sorted(m.chat_id for m in send.sent) == [1000 + i for i in range(5)]
    first = send.sent[0]
    assert "梁小姐" in first.text and "新春快乐" in first.text
    assert [(b.label, b.data) for b in first.buttons] == [("不再接收节日问候", "optout:holiday")]
    assert report.by_tier()[Tier.REGULAR][DeliveryStatus.SENT] == 5


async def test_rate_and_per_chat_pacing(services, desk, timer) -> None:
    services.settings.care.rate_per_second = 20
    cid = await _campaign(services, desk, 60)
    send = FakeSend(timer)
    await campaign_sender(services, send, timer=timer).run(cid)
    times = [t for t, _ in send.calls]
    assert len(times) == 60
    # 60 messages at 20/s: about 3 s of virtual time (a 0.25 s catch-up burst at most).
    assert times[-1] - times[0] >= 60 / 20 - 0.3


async def test_retry_after_pauses_everything_and_nobody_is_doubled(services, desk, timer) -> None:
    cid = await _campaign(services, desk, 20)
    storm = {3, 4, 5}

    def fail(chat_id: int, call_no: int) -> RetryAfter | None:
        return RetryAfter(7) if call_no in storm else None

    send = FakeSend(timer, fail)
    report = await campaign_sender(services, send, timer=timer).run(cid)
    assert report.total(DeliveryStatus.SENT) == 20
    assert len({m.chat_id for m in send.sent}) == 20 == len(send.sent)
    # Nothing at all was sent within 7 s after the first 429.
    first_429 = send.calls[2][0]
    after = [t for t, _ in send.calls[3:]]
    assert all(t >= first_429 + 7 for t in after)


async def test_403_marks_blocked_and_next_campaign_skips(services, desk, timer) -> None:
    cid = await _campaign(services, desk, 4)
    send = FakeSend(timer, lambda chat, _: Blocked("blocked") if chat == 1001 else None)
    report = await campaign_sender(services, send, timer=timer).run(cid)
    assert report.total(DeliveryStatus.BLOCKED) == 1
    assert report.total(DeliveryStatus.SENT) == 3
    async with services.database.session() as session:
        blocked = await session.get(Customer, 2)
        assert blocked is not None and blocked.blocked
    second = await desk.create("mid_autumn")
    assert second.id is not None
    preview = await desk.schedule(second.id)
    assert preview.skipped["skipped: customer blocked bot"] == 1
    assert sum(preview.recipients.values()) == 3


async def test_one_bad_recipient_never_stops_the_campaign(services, desk, timer) -> None:
    cid = await _campaign(services, desk, 6)

    def fail(chat: int, _: int) -> Exception | None:
        return ChatNotFound("chat not found") if chat in (1000, 1003) else None

    report = await campaign_sender(services, FakeSend(timer, fail), timer=timer).run(cid)
    assert report.total(DeliveryStatus.FAILED) == 2
    assert report.total(DeliveryStatus.SENT) == 4
    async with services.database.session() as session:
        rows = await DeliveryRepo(session).rows(cid)
    assert {r.error for r in rows if r.status is DeliveryStatus.FAILED} == {"chat not found"}


async def test_transient_errors_retry_with_backoff_then_give_up(services, desk, timer) -> None:
    services.settings.care.max_attempts = 3
    cid = await _campaign(services, desk, 2)
    flaky: Counter[int] = Counter()

    def fail(chat: int, _: int) -> Exception | None:
        flaky[chat] += 1
        if chat == 1000:
            return Transient("502 Bad Gateway")  # always
        return Transient("timeout") if flaky[chat] == 1 else None  # once

    send = FakeSend(timer, fail)
    report = await campaign_sender(services, send, timer=timer).run(cid)
    assert flaky[1000] == 3 and flaky[1001] == 2
    assert report.total(DeliveryStatus.SENT) == 1 and report.total(DeliveryStatus.FAILED) == 1
    assert 2.0 in timer.sleeps and 4.0 in timer.sleeps  # exponential backoff


async def test_crash_then_resume_no_duplicates_and_sending_rows_reported(
    services, desk, timer
) -> None:
    cid = await _campaign(services, desk, 30)
    send = FakeSend(timer, lambda _, n: Crash() if n == 12 else None)
    with pytest.raises(Crash):
        await campaign_sender(services, send, timer=timer).run(cid)
    async with services.database.session() as session:
        counts = await DeliveryRepo(session).counts(cid)
    in_sending = sum(n for (_, s), n in counts.items() if s is DeliveryStatus.SENDING)
    assert in_sending > 0
    delivered_before = {m.chat_id for m in send.sent}

    resume = FakeSend(timer)
    report = await campaign_sender(services, resume, timer=timer).run(cid)
    assert report.recovered_sending == in_sending
    again = {m.chat_id for m in resume.sent}
    assert not (again & delivered_before)  # nobody greeted twice
    async with services.database.session() as session:
        rows = await DeliveryRepo(session).rows(cid)
    lost = [r for r in rows if r.error == SENDING_LOST]
    assert len(lost) == in_sending
    assert all(r.status.is_final for r in rows)  # nothing left behind
    assert len(delivered_before) + len(again) + len(lost) >= 30 - 1


async def test_quiet_hours_in_each_customers_zone(services, desk, timer) -> None:
    # 02:00 UTC: 10:00 in Shanghai, 21:00 (the evening before) in New York.
    await add_customers(
        services.database,
        [
            customer(1, timezone="Asia/Shanghai"),
            customer(2, timezone="America/New_York"),
            customer(3, timezone="Europe/London"),  # 02:00: quiet until 09:00 London
        ],
    )
    campaign = await desk.create("spring_festival")
    assert campaign.id is not None
    await desk.send_now(campaign.id)
    send = FakeSend(timer)
    sender = campaign_sender(services, send, timer=timer)
    report = await sender.run(campaign.id)
    assert [m.chat_id for m in send.sent] == [1]
    assert report.deferred_until == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # London 09:00
    timer.travel(hours=7)
    await sender.run(campaign.id)
    assert sorted(m.chat_id for m in send.sent) == [1, 3]
    timer.travel(hours=5)  # 14:00 UTC = 09:00 New York
    report = await sender.run(campaign.id)
    assert sorted(m.chat_id for m in send.sent) == [1, 2, 3]
    assert report.status is CampaignStatus.DONE


async def test_opt_out_is_per_category(services, desk, timer) -> None:
    await add_customers(
        services.database,
        [
            customer(
                1,
            ),
            customer(2),
            customer(3),
        ],
    )
    async with services.database.transaction() as session:
        from storage import ProfileRepo

        await ProfileRepo(session).set_opt_out(2, ["holiday"], True)
        await ProfileRepo(session).set_opt_out(3, ["birthday"], True)
    campaign = await desk.create("spring_festival")
    assert campaign.id is not None
    await desk.send_now(campaign.id)
    send = FakeSend(timer)
    report = await campaign_sender(services, send, timer=timer).run(campaign.id)
    assert sorted(m.chat_id for m in send.sent) == [1, 3]
    assert report.total(DeliveryStatus.SKIPPED) == 1


async def test_pause_stops_and_resume_continues(services, desk, timer) -> None:
    cid = await _campaign(services, desk, 40)
    sender = campaign_sender(services, FakeSend(timer), timer=timer)
    paused = asyncio.Event()

    async def pause_after_first_batch(report: object) -> None:
        if not paused.is_set():
            paused.set()
            await desk.set_status(cid, CampaignStatus.PAUSED)

    sender.on_progress = pause_after_first_batch
    report = await sender.run(cid)
    assert report.status is CampaignStatus.PAUSED
    assert 0 < report.total(DeliveryStatus.SENT) < 40
    await desk.set_status(cid, CampaignStatus.RUNNING)
    sender.on_progress = None
    report = await sender.run(cid)
    assert report.total(DeliveryStatus.SENT) == 40
