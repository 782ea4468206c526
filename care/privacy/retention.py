"""The retention pass: old data deleted or redacted in short batches, by the leader, daily.

Each batch is its own transaction, timed from the moment it holds the lock (on SQLite: after
``BEGIN IMMEDIATE`` returned) to the end of its COMMIT - how long it kept others from writing.
A batch slower than `max_batch_ms` halves the next one, a quick one lets it grow again, and
the pass pauses between batches so the bot's own writes get the lock in between. What a pass
removed is logged as counts and added to the ``carebot_retention_rows`` metric;
``carebot_retention_max_batch_seconds`` is its longest batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from care.privacy.config import RetentionSettings
from care.runtime.metrics import Metrics
from storage import Database, RetentionKind, RetentionRepo, Window

__all__ = ["RetentionReport", "run_retention"]

log = logging.getLogger("carebot.retention")

_MIN_ROWS = 50
_MAX_ROWS = 100_000
#: Tickets carry ~10-50 messages each: a ticket window is this much narrower than a row one.
_ROWS_PER_TICKET = 25


@dataclass(slots=True)
class RetentionReport:
    """What one pass did."""

    messages: int = 0
    tickets: int = 0
    deliveries: int = 0
    batches: int = 0
    #: Every batch's lock-hold time in seconds (lock taken to COMMIT done).
    batch_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def max_batch_seconds(self) -> float:
        return max(self.batch_seconds, default=0.0)


class _Batcher:
    """Times batches and adapts their size to stay under the lock budget."""

    def __init__(self, database: Database, settings: RetentionSettings, report: RetentionReport):
        self.database = database
        self.budget = settings.max_batch_ms / 1000
        self.size = settings.batch_rows
        self.report = report

    async def run(self, step: Callable[[RetentionRepo], Awaitable[int]]) -> int:
        async with self.database.transaction() as session:
            repo = RetentionRepo(session)
            await repo.lock()  # waiting for the lock is not holding it: start the clock after
            started = time.perf_counter()
            done = await step(repo)
        elapsed = time.perf_counter() - started
        self.report.batches += 1
        self.report.batch_seconds.append(elapsed)
        if elapsed > self.budget:
            self.size = max(_MIN_ROWS, self.size // 2)
        elif elapsed < self.budget / 3:
            self.size = min(_MAX_ROWS, self.size + self.size // 4 + 1)
        # Let the bot's writers take the lock before the next batch.
        await asyncio.sleep(min(elapsed, self.budget / 2))
        return done


async def run_retention(
    database: Database,
    settings: RetentionSettings,
    now: datetime,
    *,
    metrics: Metrics | None = None,
) -> RetentionReport:
    """One pass over messages, closed tickets and deliveries (0 days = keep for ever)."""
    report = RetentionReport()
    started = time.perf_counter()
    batcher = _Batcher(database, settings, report)
    if settings.messages_days:
        cutoff = now - timedelta(days=settings.messages_days)

        async def messages(repo: RetentionRepo, lo: int, hi: int) -> Window:
            return await repo.delete_messages(lo, hi, cutoff)

        report.messages = await _walk(batcher, "messages", messages)
    if settings.closed_tickets_days:
        closed = now - timedelta(days=settings.closed_tickets_days)

        async def tickets(repo: RetentionRepo, lo: int, hi: int) -> Window:
            return await repo.redact_closed_tickets(lo, hi, closed, now)

        report.tickets = await _walk(batcher, "tickets", tickets, rows_per_id=_ROWS_PER_TICKET)
    if settings.deliveries_days:
        sent = now - timedelta(days=settings.deliveries_days)

        async def deliveries(repo: RetentionRepo, lo: int, hi: int) -> Window:
            return await repo.purge_deliveries(lo, hi, sent)

        report.deliveries = await _walk(batcher, "deliveries", deliveries)
    report.seconds = time.perf_counter() - started
    if metrics is not None:
        metrics.retention_rows.labels("messages").inc(report.messages)
        metrics.retention_rows.labels("tickets").inc(report.tickets)
        metrics.retention_rows.labels("deliveries").inc(report.deliveries)
        metrics.retention_batch_seconds.set(report.max_batch_seconds)
    log.info(
        "retention: %d message(s) deleted, %d closed ticket(s) redacted, %d delivery row(s) "
        "folded in %d batch(es); longest batch %.0f ms",
        report.messages, report.tickets, report.deliveries, report.batches,
        report.max_batch_seconds * 1000,
    )  # fmt: skip
    return report


async def _walk(
    batcher: _Batcher,
    kind: RetentionKind,
    step: Callable[[RetentionRepo, int, int], Awaitable[Window]],
    *,
    rows_per_id: int = 1,
) -> int:
    """Run ``step`` over ``kind``'s table window by window; returns the rows it handled."""
    async with batcher.database.session() as session:
        bounds = await RetentionRepo(session).id_range(kind)
    if bounds is None:
        return 0
    lo, top = bounds
    total = 0
    while lo <= top:
        hi = lo + max(1, batcher.size // rows_per_id)
        newer = False

        async def window(repo: RetentionRepo, lo: int = lo, hi: int = hi) -> int:
            nonlocal newer
            result = await step(repo, lo, hi)
            newer = result.newer_seen
            return result.done

        done = await batcher.run(window)
        total += done
        if done == 0 and newer:
            break  # ids grow with time: everything from here on is newer than the cutoff
        lo = hi
    return total
