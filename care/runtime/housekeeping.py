"""Leader-only periodic work of the deployment itself (the scheduler's jobs are added beside it).

Today: forgetting processed webhook update ids older than Telegram's retry horizon, so the
dedup table stays small. Started by `care.runtime.leadership.run_as_leader` in exactly one process.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from care.runtime.leadership import StopFn
from care.runtime.periodic import start_periodic
from care.runtime.services import Services
from storage import UpdateLedgerRepo

__all__ = ["DEDUP_HORIZON", "prune_processed_updates", "start_housekeeping"]

log = logging.getLogger("carebot.housekeeping")

#: Telegram retries an unacknowledged update for about a day; keep ids a little longer.
DEDUP_HORIZON = timedelta(hours=26)


async def prune_processed_updates(services: Services) -> int:
    """Delete dedup rows past the horizon; returns how many went."""
    async with services.unit_of_work() as repos:
        return await UpdateLedgerRepo(repos.session).prune(services.clock() - DEDUP_HORIZON)


async def start_housekeeping(services: Services, term: int, *, every: float = 3600.0) -> StopFn:
    """Run the periodic jobs until the returned function is awaited."""

    async def prune() -> None:
        pruned = await prune_processed_updates(services)
        if pruned:
            log.info("term %d: pruned %d processed update ids", term, pruned)

    return start_periodic("housekeeping", every, prune)
