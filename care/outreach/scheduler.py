"""The care scheduler: APScheduler 3 (asyncio) with a persistent SQLAlchemy job store.

Jobs persist only *what* to do (`fire_job(kind, key)`), never objects; the executor below
hands each job to the live `CareScheduler`, so there are no module-level globals.

* campaign jobs (`campaign-<id>`) run at the window start; `misfire_grace_time` is the
  whole window, so a greeting missed during downtime is sent late the same day instead of
  skipped; the delivery ledger guarantees that a job firing twice sends nobody twice;
  `coalesce` folds several missed runs into one;
* the birthday job (`birthday-daily`, when `[care] birthday_greetings` is on) runs daily at
  `birthday_send_time` with a grace until midnight. Registering it on start computes its
  next run from *now*, so a start after today's send time also queues a one-off catch-up
  (`birthday-catchup`): today's birthday campaign is made once (natural key) and its ledger
  sends nobody twice, so the catch-up is late-not-skipped and never doubles;
* quiet hours: a run that leaves deferred rows re-schedules itself at the earliest one;
* the sync job (`campaign-sync`, every `[care] sync_seconds`) picks up campaigns scheduled
  or sent from elsewhere (the CLI, the Telegram admin console in another worker) that have
  no job yet; runs of one job key are serialised in this process.

The job store is sync SQLAlchemy: SQLite gets its own file beside the database
(`<name>.jobs.db`, so its sync writes never wait on the bot's write lock); PostgreSQL uses
the same database through psycopg (`postgresql+psycopg://`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from copy import copy
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from care.outreach.sender import ProgressFn, RunReport, SendFn, Timer
from care.outreach.wiring import campaign_desk, campaign_sender
from care.runtime.services import Services
from storage import Campaign, CampaignStatus

__all__ = ["CareScheduler", "fire_job", "jobstore_url"]

log = logging.getLogger("carebot.scheduler")

BIRTHDAY_JOB = "birthday-daily"
BIRTHDAY_CATCHUP_JOB = "birthday-catchup"
SYNC_JOB = "campaign-sync"


def jobstore_url(database_url: str) -> str:
    """The sync SQLAlchemy URL for the job store, derived from `DATABASE_URL`."""
    if database_url.startswith("postgresql+asyncpg://"):
        return "postgresql+psycopg://" + database_url.split("://", 1)[1]
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1] if ":///" in database_url else ""
        if path in ("", ":memory:") or path.startswith("file::memory:"):
            return "sqlite://"
        db = Path(path)
        return f"sqlite:///{db.with_name(db.stem + '.jobs.db')}"
    raise ValueError(f"no job store for {database_url.split('://', 1)[0]}")


async def fire_job(kind: str, key: str) -> None:
    """What persisted jobs name; `CareScheduler`'s executor runs `CareScheduler.fire`."""
    raise RuntimeError("care jobs run only through CareScheduler's executor")


class _CareExecutor(AsyncIOExecutor):  # type: ignore[misc]
    """Runs each persisted job on the live scheduler object instead of a global."""

    def __init__(self, fire: Callable[[str, str], Awaitable[None]]) -> None:
        super().__init__()
        self._fire = fire

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        bound = copy(job)
        bound.func = partial(self._fire)
        bound._jobstore_alias = getattr(job, "_jobstore_alias", "default")  # not in getstate
        super()._do_submit_job(bound, run_times)


class CareScheduler:
    """Owns the APScheduler instance; start it only in the leader process."""

    def __init__(
        self,
        services: Services,
        send: SendFn,
        *,
        jobstore: str | None = None,
        timer: Timer | None = None,
        before_campaign: Callable[[int], Awaitable[None]] | None = None,
        on_report: Callable[[RunReport], Awaitable[None] | None] | None = None,
        progress: Callable[[int], Awaitable[ProgressFn | None]] | None = None,
    ) -> None:
        self.services = services
        self.send = send
        self.timer = timer
        self.before_campaign = before_campaign
        self.on_report = on_report
        # The Telegram progress card of a campaign started from the admin console.
        self.progress = progress
        self._locks: dict[str, asyncio.Lock] = {}
        self._active: set[int] = set()
        self.fencing_token: int | None = None
        self.scheduler = AsyncIOScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(
                    url=jobstore or jobstore_url(services.settings.database_url)
                )
            },
            executors={"default": _CareExecutor(self.fire)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=services.settings.zone,
        )

    async def start(self, fencing_token: int | None = None) -> None:
        """Start, (re)register the birthday job and pick up every unfinished campaign."""
        self.fencing_token = fencing_token
        self.scheduler.start()
        if self.services.settings.care.birthday_greetings:
            send_at = self.services.settings.care.birthday_send_time
            until_midnight = 24 * 3600 - (send_at.hour * 3600 + send_at.minute * 60)
            self.scheduler.add_job(
                fire_job,
                CronTrigger(
                    hour=send_at.hour, minute=send_at.minute, timezone=self.services.settings.zone
                ),
                args=("birthday", ""),
                id=BIRTHDAY_JOB,
                replace_existing=True,
                misfire_grace_time=until_midnight,
            )
            local = self._now().astimezone(self.services.settings.zone)
            if local.time() >= send_at:
                # Missed today's run while down (re-registering moved it to tomorrow).
                self.scheduler.add_job(
                    fire_job,
                    DateTrigger(),
                    args=("birthday", ""),
                    id=BIRTHDAY_CATCHUP_JOB,
                    replace_existing=True,
                    misfire_grace_time=until_midnight,
                )
        elif self.scheduler.get_job(BIRTHDAY_JOB):
            self.scheduler.remove_job(BIRTHDAY_JOB)
        self.scheduler.add_job(
            fire_job,
            IntervalTrigger(seconds=self.services.settings.care.sync_seconds),
            args=("sync", ""),
            id=SYNC_JOB,
            replace_existing=True,
            misfire_grace_time=None,
        )
        desk = campaign_desk(self.services)
        for campaign in await desk.list_campaigns(limit=200):
            if campaign.status in (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING):
                self.schedule_campaign(campaign)

    async def sync(self) -> list[int]:
        """Queue every scheduled/running campaign that has no job and is not running here;
        returns their ids."""
        queued: list[int] = []
        for campaign in await campaign_desk(self.services).list_campaigns(limit=200):
            if campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING):
                continue
            assert campaign.id is not None
            if campaign.id in self._active or self.scheduler.get_job(f"campaign-{campaign.id}"):
                continue
            self.schedule_campaign(campaign)
            queued.append(campaign.id)
        return queued

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def schedule_campaign(self, campaign: Campaign, at: datetime | None = None) -> None:
        """(Re)place the campaign's job at `at` (default: window start, or now if later)."""
        now = self._now()
        when = at or max(campaign.window_start, now)
        grace = max(60, int((campaign.window_end - when).total_seconds()))
        self.scheduler.add_job(
            fire_job,
            DateTrigger(run_date=when),
            args=("campaign", str(campaign.id)),
            id=f"campaign-{campaign.id}",
            replace_existing=True,
            misfire_grace_time=grace,
        )

    def _now(self) -> datetime:
        return self.timer.now() if self.timer else self.services.clock()

    async def fire(self, kind: str, key: str) -> None:
        # One run per kind+key at a time in this process (the daily job and its catch-up,
        # a sync racing a re-scheduled job): the second waits and then finds little to do.
        lock = self._locks.setdefault(f"{kind}:{key}", asyncio.Lock())
        async with lock:
            if kind == "campaign":
                await self.run_campaign(int(key))
            elif kind == "birthday":
                await self.run_birthdays()
            elif kind == "sync":
                await self.sync()
            else:
                log.error("unknown job kind %r", kind)

    async def run_campaign(self, campaign_id: int) -> RunReport:
        if self.before_campaign is not None:
            await self.before_campaign(campaign_id)
        on_progress = await self.progress(campaign_id) if self.progress is not None else None
        sender = campaign_sender(
            self.services, self.send, timer=self.timer, on_progress=on_progress
        )
        self._active.add(campaign_id)
        try:
            report = await sender.run(campaign_id)
        finally:
            self._active.discard(campaign_id)
        if report.deferred_until is not None and report.status is CampaignStatus.RUNNING:
            campaign = await campaign_desk(self.services).get(campaign_id)
            self.schedule_campaign(campaign, at=report.deferred_until + timedelta(seconds=1))
        if self.on_report is not None:
            outcome = self.on_report(report)
            if outcome is not None:
                await outcome
        return report

    async def run_birthdays(self) -> None:
        today = self._now().astimezone(self.services.settings.zone).date()
        campaign = await campaign_desk(self.services).ensure_birthday_campaign(today)
        if campaign is not None and campaign.id is not None:
            await self.run_campaign(campaign.id)
