"""The leader's data-lifecycle duties: the daily retention pass and the daily, rotated backup.

Started by `bot.runners.runtime.start_leader_duties` in exactly one process. Retention runs at
once and then every `[retention] every_hours`; the backup check runs hourly and takes a
backup only when the newest is older than `[backup] every_hours` (so restarts don't pile up
backups). Both run their blocking parts off the event loop or in short transactions.
"""

from __future__ import annotations

import logging

from care.privacy.backups import scheduled_backup
from care.privacy.retention import run_retention
from care.runtime.leadership import StopFn
from care.runtime.periodic import start_periodic
from care.runtime.services import Services

__all__ = ["BACKUP_CHECK_SECONDS", "start_privacy_duties"]

log = logging.getLogger("carebot.privacy")

#: How often the leader looks whether a scheduled backup is due.
BACKUP_CHECK_SECONDS = 3600.0


async def start_privacy_duties(services: Services, term: int) -> StopFn:
    """Start retention and scheduled backups; returns how to stop both."""
    settings = services.settings

    async def retention() -> None:
        await run_retention(
            services.database, settings.retention, services.clock(), metrics=services.metrics
        )

    async def backup() -> None:
        path = await scheduled_backup(
            settings, services.database, services.clock(), services.metrics
        )
        if path is not None:
            log.info("term %d: scheduled backup %s", term, path.name)

    stop_retention = start_periodic("retention", settings.retention.every_hours * 3600, retention)
    stop_backup = start_periodic("backup", BACKUP_CHECK_SECONDS, backup)

    async def stop() -> None:
        await stop_retention()
        await stop_backup()

    return stop
