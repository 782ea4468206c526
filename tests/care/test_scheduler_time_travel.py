"""The scheduler end to end with time travel: quiet-hours deferral re-queues the campaign,
the daily birthday job, a birthday run missed during downtime is sent late the same day
(not skipped, not doubled), and the sync job picks up campaigns scheduled elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from care.outreach.scheduler import BIRTHDAY_CATCHUP_JOB, BIRTHDAY_JOB, CareScheduler
from care.outreach.sender import RunReport
from care.outreach.wiring import campaign_desk
from care.runtime.services import Services
from storage import CampaignStatus, DeliveryStatus
from tests.care.care_helpers import FakeSend, TimeMachine, add_customers, customer
from tests.progress import wait_until

# 2026-11-23 01:00 UTC = 09:00 in Shanghai (the business zone), before the 10:00 birthday run.
MORNING = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@pytest.fixture
def timer(services: Services) -> TimeMachine:
    machine = TimeMachine(MORNING)
    services.clock = machine.now  # the desk and the sender share the time machine
    return machine


@pytest.fixture
async def scheduler(
    services: Services, timer: TimeMachine, tmp_path: Path
) -> AsyncIterator[CareScheduler]:
    sched = CareScheduler(
        services, FakeSend(timer), jobstore=f"sqlite:///{tmp_path / 'j.db'}", timer=timer
    )
    try:
        yield sched
    finally:
        await sched.stop()


def _sent(sched: CareScheduler) -> list[int]:
    send = sched.send
    assert isinstance(send, FakeSend)
    return sorted(m.chat_id for m in send.sent)


async def _wait_for(reports: list[RunReport], count: int) -> None:
    await wait_until(lambda: len(reports) >= count, f"{count} campaign run(s)")


async def test_quiet_hours_defer_and_requeue_the_campaign(
    services: Services, timer: TimeMachine, scheduler: CareScheduler
) -> None:
    timer.travel(hours=1)  # 02:00 UTC: 10:00 Shanghai, 02:00 London (quiet until 09:00)
    await add_customers(
        services.database,
        [customer(1, timezone="Asia/Shanghai"), customer(2, timezone="Europe/London")],
    )
    desk = campaign_desk(services)
    campaign = await desk.create("spring_festival")
    assert campaign.id is not None
    await desk.send_now(campaign.id)
    scheduler.scheduler.start(paused=True)  # jobs are stored, nothing fires by itself

    report = await scheduler.run_campaign(campaign.id)
    assert _sent(scheduler) == [1]
    assert report.deferred_until == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    job = scheduler.scheduler.get_job(f"campaign-{campaign.id}")
    assert job is not None  # re-queued at London's 09:00, not polled, not dropped
    assert job.next_run_time == datetime(2026, 11, 23, 9, 0, 1, tzinfo=UTC)

    timer.travel(hours=7, seconds=1)  # what the job does when it fires
    await scheduler.fire("campaign", str(campaign.id))
    assert _sent(scheduler) == [1, 2]
    assert (await desk.get(campaign.id)).status is CampaignStatus.DONE


async def test_daily_birthday_job(
    services: Services, timer: TimeMachine, scheduler: CareScheduler
) -> None:
    services.settings.care.birthday_greetings = True
    await add_customers(
        services.database,
        [
            customer(1, birthday=date(1990, 11, 23)),
            customer(2, birthday=date(1985, 11, 24)),
            customer(3, birthday=date(1970, 5, 1)),
        ],
    )
    await scheduler.start()
    job = scheduler.scheduler.get_job(BIRTHDAY_JOB)
    assert job is not None and job.misfire_grace_time == 14 * 3600  # until midnight
    assert str(job.trigger).startswith("cron[hour='10', minute='0'")
    assert scheduler.scheduler.get_job(BIRTHDAY_CATCHUP_JOB) is None  # 09:00: nothing missed

    timer.travel(hours=1)  # 10:00 Shanghai: the job fires
    await scheduler.fire("birthday", "")
    assert _sent(scheduler) == [1]
    await scheduler.fire("birthday", "")  # fired twice (a double trigger): nobody doubled
    assert _sent(scheduler) == [1]

    timer.travel(days=1)  # the next day
    await scheduler.fire("birthday", "")
    assert _sent(scheduler) == [1, 2]
    keys = sorted(c.key or "" for c in await campaign_desk(services).list_campaigns())
    assert keys == ["birthday:2026-11-23", "birthday:2026-11-24"]


async def test_birthday_missed_during_downtime_is_sent_late_once(
    services: Services, timer: TimeMachine, tmp_path: Path
) -> None:
    services.settings.care.birthday_greetings = True
    await add_customers(services.database, [customer(1, birthday=date(1990, 11, 23))])
    store = f"sqlite:///{tmp_path / 'jobs.db'}"
    send = FakeSend(timer)
    timer.travel(hours=5)  # 14:00 Shanghai: the bot was down at 10:00

    for restart in range(2):  # the same day, twice: late once, then never again
        reports: list[RunReport] = []
        sched = CareScheduler(services, send, jobstore=store, timer=timer, on_report=reports.append)
        await sched.start()
        try:
            await _wait_for(reports, 1)
        finally:
            await sched.stop()
        assert [m.chat_id for m in send.sent] == [1]
        assert reports[0].sent_now == (1 if restart == 0 else 0)
        assert reports[0].total(DeliveryStatus.SENT) == 1


async def test_sync_picks_up_campaigns_scheduled_elsewhere(
    services: Services, scheduler: CareScheduler
) -> None:
    await add_customers(services.database, [customer(1)])
    scheduler.scheduler.start(paused=True)
    assert await scheduler.sync() == []
    desk = campaign_desk(services)
    campaign = await desk.create("spring_festival")
    assert campaign.id is not None
    await desk.schedule(campaign.id)  # e.g. from the CLI or another worker's admin console
    assert await scheduler.sync() == [campaign.id]
    assert await scheduler.sync() == []  # it has a job now
    job = scheduler.scheduler.get_job(f"campaign-{campaign.id}")
    assert job is not None and job.next_run_time == campaign.window_start + timedelta(0)
