"""The long-lived helpers of a bot process: one code path for `carebot run` and `carebot webhook`.

* `start_leader_duties` - what exactly one process runs while it holds the leader lock:
  housekeeping, the care scheduler (campaigns and birthdays, stamped with the fencing term,
  sending through the counting send path, with admin progress cards), the SLA watcher, the
  ticket closer, and the data lifecycle (retention, scheduled backups, deleting redacted
  tickets' staff topics).
* `BotRuntime` - a process's helpers and their lifetime: the campaign for leadership
  (`care.runtime.leadership.run_as_leader` over `build_leader_lock`: Redis, else PostgreSQL, else a
  file lock), the content watch (hot reload, in every process) and the staff-group outbox.
  `aclose` is the graceful shutdown both modes share: in-flight updates finish, the leader
  steps down, the staff queue drains, and only then do the FSM storage, the database, Redis
  and the Bot API session close.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot

from bot.admin_progress import telegram_edit
from bot.broadcast import telegram_send
from bot.inflight import CareDispatcher
from bot.routers.reports import send_card
from bot.staff.cleanup import CLEANUP_SECONDS, clean_topics
from bot.staff.gateway import StaffGateway
from care.outreach.admin import progress_card_factory
from care.outreach.scheduler import CareScheduler
from care.outreach.tasks import post_care_tasks
from care.privacy.duties import start_privacy_duties
from care.reports.telegram import WeeklyDigest
from care.runtime.housekeeping import start_housekeeping
from care.runtime.leadership import LeaderLock, StopFn, build_leader_lock, run_as_leader
from care.runtime.metrics import counting_send
from care.runtime.periodic import start_periodic
from care.runtime.services import Services
from care.runtime.watch import watch_content

__all__ = ["DRAIN_SECONDS", "BotRuntime", "start_leader_duties"]

log = logging.getLogger("carebot.runtime")

#: How long shutdown waits for updates in progress, the leader's step-down and the staff queue.
DRAIN_SECONDS = 30.0
#: How often resolved tickets past `staff.close_resolved_after_days` are closed (days-scale
#: work: a ten-minute lag is invisible, and the query is one indexed scan).
CLOSER_SECONDS = 600.0
#: How often the leader looks whether the weekly digest is due (it is sent once a week).
DIGEST_CHECK_SECONDS = 60.0


async def start_leader_duties(
    bot: Bot, services: Services, gateway: StaffGateway, term: int
) -> StopFn:
    """Start everything exactly one process runs; returns how to stop it all.

    The SLA watcher is here, not in every process: `check_sla` says each alert once through
    the audit trail, but two processes checking at the same moment would both alert.
    """
    stop_housekeeping = await start_housekeeping(services, term)
    stop_sla = start_periodic(
        "sla-watcher",
        services.settings.staff.sla_check_seconds,
        lambda: gateway.run_sla_check(bot),
    )
    stop_closer = start_periodic(
        "ticket-closer", CLOSER_SECONDS, lambda: gateway.run_ticket_closer(bot)
    )
    # The weekly digest: checked every minute, claimed per ISO week in the database.
    digest = WeeklyDigest(services, send_card(bot))
    stop_digest = start_periodic("weekly-digest", DIGEST_CHECK_SECONDS, digest.run_if_due)
    stop_privacy = await start_privacy_duties(services, term)
    stop_topics = start_periodic(
        "topic-cleanup", CLEANUP_SECONDS, lambda: clean_topics(bot, services)
    )
    plain = telegram_send(bot)
    # Customers' greetings count as campaign messages sent/failed; the staff group's call
    # tasks (posted before a run) are not campaign messages and go out uncounted.
    send = counting_send(plain, services.metrics)

    async def before(campaign_id: int) -> None:
        await post_care_tasks(services, campaign_id, plain)

    scheduler = CareScheduler(
        services,
        send,
        before_campaign=before,
        progress=progress_card_factory(services, telegram_edit(bot)),
    )
    started = False
    try:
        await scheduler.start(term)
        started = True
    except Exception:  # the other duties still run; the error is visible and retried next term
        log.exception("the care scheduler failed to start")

    async def stop() -> None:
        if started:
            try:
                await scheduler.stop()
            except Exception:  # stopping must never keep the lock from being released
                log.exception("the care scheduler failed to stop cleanly")
        await stop_sla()
        await stop_closer()
        await stop_digest()
        await stop_topics()
        await stop_privacy()
        await stop_housekeeping()

    return stop


class BotRuntime:
    """The helpers around one process's dispatcher (or none: `carebot webhook scheduler`)."""

    def __init__(
        self,
        bot: Bot,
        services: Services,
        dispatcher: CareDispatcher | None = None,
        *,
        leader: bool = True,
        lock: LeaderLock | None = None,
        drain_seconds: float = DRAIN_SECONDS,
    ) -> None:
        self.bot = bot
        self.services = services
        self.dispatcher = dispatcher
        # The dispatcher's gateway when there is one: updates and SLA alerts share one outbox,
        # so one rate budget covers everything this process posts into the staff group.
        self.gateway: StaffGateway = (
            dispatcher["staff_gateway"] if dispatcher is not None else StaffGateway(services)
        )
        self.leader = leader
        self.lock = lock
        self.drain_seconds = drain_seconds
        self._leader_stop = asyncio.Event()
        self._leader_task: asyncio.Task[None] | None = None
        self._stop_watch: StopFn | None = None
        self._closed = False

    @property
    def leading(self) -> bool:
        """True while this process holds the leader lock (its duties are running)."""
        return self.lock is not None and self.lock.is_leader

    def start(self) -> None:
        """Start the content watch and, with ``leader``, the campaign for leadership.

        Call it once the database is ready (migrated): the leader's scheduler reads campaigns
        at once.
        """
        if self._closed or self._stop_watch is not None:
            return
        self._stop_watch = watch_content(self.services)
        if not self.leader:
            return
        settings = self.services.settings
        self.lock = self.lock or build_leader_lock(
            settings, self.services.database, self.services.redis
        )
        self._leader_task = asyncio.create_task(
            run_as_leader(
                self.lock,
                self._on_elected,
                self._leader_stop,
                poll=settings.leader_poll_seconds,
                metrics=self.services.metrics,
            ),
            name="carebot-leader",
        )

    async def _on_elected(self, term: int) -> StopFn:
        log.warning("this process is the leader (term %d): running scheduled jobs", term)
        return await start_leader_duties(self.bot, self.services, self.gateway, term)

    async def aclose(self) -> None:
        """Graceful shutdown; the caller has already stopped taking new updates."""
        if self._closed:
            return
        self._closed = True
        # Step down at once (campaign sends and SLA passes stop between messages) while the
        # updates already being handled finish.
        self._leader_stop.set()
        if self.dispatcher is not None:
            inflight = self.dispatcher.inflight
            if not await inflight.drain(self.drain_seconds):
                log.error("%d updates still running after %ss", inflight.active, self.drain_seconds)
        if self._leader_task is not None:
            try:
                await asyncio.wait_for(self._leader_task, self.drain_seconds)
            except TimeoutError:
                log.error("the leader's duties did not stop in %ss", self.drain_seconds)
        if self._stop_watch is not None:
            await self._stop_watch()
        # Posts queued by the last updates and SLA alerts go out before the session closes.
        await self.gateway.aclose()
        try:
            if self.dispatcher is not None:
                await self.dispatcher.fsm.close()
        finally:
            try:
                await self.services.aclose()
            finally:
                await self.bot.session.close()
