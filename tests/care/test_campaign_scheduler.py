"""Scheduler: persistent jobs survive a restart; a missed greeting is sent late, once;
the leader lock lets exactly one process lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.triggers.date import DateTrigger

from care.outreach.scheduler import CareScheduler, fire_job, jobstore_url
from care.outreach.wiring import campaign_desk
from care.runtime.leadership import FileLeaderLock, LeaderLock
from storage import DeliveryStatus
from tests.care.care_helpers import FakeSend, TimeMachine, add_customers, customer
from tests.progress import wait_until


def test_jobstore_url() -> None:
    assert jobstore_url("sqlite+aiosqlite:///data/carebot.db") == "sqlite:///data/carebot.jobs.db"
    assert jobstore_url("sqlite+aiosqlite://") == "sqlite://"
    assert jobstore_url("postgresql+asyncpg://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"


async def _wait(predicate) -> None:
    await wait_until(predicate, "the scheduler's work")


def _daytime_zone(now: datetime) -> str:
    """A fixed-offset zone where `now` is around noon: APScheduler runs on the real clock,
    and at night the customers' quiet hours would (rightly) defer the greeting."""
    offset = (12 - now.hour + 12) % 24 - 12  # -12..+11 hours from UTC
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"  # Etc/GMT signs are inverted


async def test_missed_during_downtime_is_sent_late_once(services, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    zone = _daytime_zone(now)
    await add_customers(services.database, [customer(1, timezone=zone), customer(2, timezone=zone)])
    desk = campaign_desk(services)
    campaign = await desk.create(
        "spring_festival", window=(now - timedelta(hours=3), now + timedelta(hours=9))
    )
    assert campaign.id is not None
    await desk.schedule(campaign.id)
    store = f"sqlite:///{tmp_path / 'jobs.db'}"
    timer = TimeMachine(now)
    send = FakeSend(timer)
    services.clock = lambda: datetime.now(UTC)

    # The job was due 3 hours ago while the bot was down: write it into the store only.
    offline = CareScheduler(services, send, jobstore=store, timer=timer)
    offline.scheduler.start(paused=True)
    offline.scheduler.add_job(
        fire_job,
        DateTrigger(run_date=now - timedelta(hours=3)),
        args=("campaign", str(campaign.id)),
        id=f"campaign-{campaign.id}",
        misfire_grace_time=12 * 3600,
    )
    offline.scheduler.shutdown(wait=False)

    reports = []
    restarted = CareScheduler(services, send, jobstore=store, timer=timer, on_report=reports.append)
    await restarted.start()
    try:
        await _wait(lambda: bool(reports))
        assert sorted(m.chat_id for m in send.sent) == [1, 2]  # late, not skipped
        assert reports[0].total(DeliveryStatus.SENT) == 2
        # Firing again (a double trigger) sends nobody twice: the ledger is done.
        again = await restarted.run_campaign(campaign.id)
        assert again.sent_now == 0 and len(send.sent) == 2
    finally:
        await restarted.stop()


async def test_too_late_is_skipped_not_sent(services, tmp_path: Path) -> None:
    await add_customers(services.database, [customer(1)])
    store = f"sqlite:///{tmp_path / 'jobs.db'}"
    timer = TimeMachine()
    send = FakeSend(timer)
    missed = []
    sched = CareScheduler(services, send, jobstore=store, timer=timer)
    from apscheduler.events import EVENT_JOB_MISSED

    sched.scheduler.add_listener(lambda event: missed.append(event.job_id), EVENT_JOB_MISSED)
    sched.scheduler.start(paused=True)
    sched.scheduler.add_job(
        fire_job,
        DateTrigger(run_date=datetime.now(UTC) - timedelta(days=1)),
        args=("campaign", "1"),
        id="campaign-1",
        misfire_grace_time=3600,
    )
    sched.scheduler.resume()
    try:
        await _wait(lambda: bool(missed))
        assert send.sent == []
    finally:
        await sched.stop()


async def test_only_one_leader(tmp_path: Path) -> None:
    first, second = (
        FileLeaderLock(tmp_path / "leader.lock"),
        FileLeaderLock(tmp_path / "leader.lock"),
    )
    assert isinstance(first, LeaderLock)
    assert await first.acquire() is True
    assert await second.acquire() is False
    token = first.fencing_token
    await first.release()
    assert await second.acquire() is True
    assert second.fencing_token is not None and token is not None
    assert second.fencing_token > token  # fencing: a later tenure has a larger token
    await second.release()


def test_jobs_persisted_before_the_move_still_load() -> None:
    """Job stores of earlier versions name `care.scheduler:fire_job`; that reference resolves."""
    from apscheduler.util import ref_to_obj

    assert ref_to_obj("care.scheduler:fire_job") is fire_job
