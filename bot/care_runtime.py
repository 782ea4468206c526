"""Running care greetings inside `carebot run`: leader election, then the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from aiogram import Bot

from bot.admin_progress import telegram_edit
from bot.broadcast import telegram_send
from care.admin import progress_card_factory
from care.care_tasks import post_care_tasks
from care.leader import FileLeaderLock, LeaderLock, lead_while_possible
from care.scheduler import CareScheduler
from care.services import Services

__all__ = ["default_lock", "start_care_scheduler"]


def default_lock(services: Services) -> LeaderLock:
    """The file lock in the data folder (beside the SQLite database, or `[care] lock_dir`)."""
    settings = services.settings
    folder = settings.care.lock_dir
    if folder is None:
        database = services.database.url.database or ""
        folder = str(Path(database).parent) if services.database.is_sqlite and database else "data"
    return FileLeaderLock(Path(folder) / "carebot.leader.lock")


def start_care_scheduler(bot: Bot, services: Services, lock: LeaderLock | None = None
                         ) -> asyncio.Task[None]:
    """A task that runs the care scheduler whenever this process is the leader; cancel it
    on shutdown (the scheduler stops and the lock is released)."""

    send = telegram_send(bot)

    async def before(campaign_id: int) -> None:
        await post_care_tasks(services, campaign_id, send)

    scheduler = CareScheduler(
        services, send, before_campaign=before,
        progress=progress_card_factory(services, telegram_edit(bot)),
    )

    async def start(token: int) -> None:
        await scheduler.start(token)

    async def stop() -> None:
        with contextlib.suppress(Exception):
            await scheduler.stop()

    return asyncio.create_task(
        lead_while_possible(lock or default_lock(services), start, stop), name="care-scheduler"
    )
