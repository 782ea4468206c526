"""The staff group's outbox: a rate budget (~20 messages/minute) and a queue that merges bursts.

Telegram lets a bot post only about 20 messages a minute into one group. Every message the
bot posts into the staff forum goes through here: while the budget lasts a job runs at once;
when it is spent, jobs wait in order, and consecutive customer texts for the same topic that
piled up meanwhile are merged into one message, so a burst costs one message, not twenty.

Jobs run after the update that queued them has committed (see `UnitOfWorkMiddleware`'s
``after_commit``), each in its own worker turn; the worker never holds a database session
while it waits for budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from care.replies import Button

__all__ = ["OutboxJob", "StaffOutbox", "TokenBucket"]

log = logging.getLogger("carebot.staff.outbox")


class TokenBucket:
    """``per_period`` tokens refilled evenly over ``period`` seconds; ``spend`` may go negative."""

    def __init__(
        self, per_period: int, period: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(per_period)
        self.rate = per_period / period
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    @property
    def available(self) -> float:
        self._refill()
        return self._tokens

    def spend(self, tokens: float = 1.0) -> None:
        """Take tokens without waiting (a message that had to go out inline)."""
        self._refill()
        self._tokens -= tokens

    def wait_time(self) -> float:
        """Seconds until one token is available (0 when one is)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    async def acquire(self) -> None:
        while (delay := self.wait_time()) > 0:
            # Short naps rather than one long sleep: the clock is injectable (tests), and a
            # `spend` elsewhere may change the wait.
            await asyncio.sleep(min(delay, 0.5))
        self._tokens -= 1


@dataclass(frozen=True, slots=True)
class OutboxJob:
    """One message for the staff group.

    ``merge_key`` (e.g. the topic id) and ``merge_text`` mark a job that may be merged with
    its queued neighbours of the same key; ``run`` receives the merged group (one job when
    nothing was merged) and sends it.
    """

    run: Callable[[Sequence[OutboxJob]], Awaitable[None]]
    merge_key: int | None = None
    merge_text: str | None = None
    #: Buttons for the posted message (suggested replies under a customer message's copy);
    #: a merged burst carries its newest message's.
    buttons: tuple[Button, ...] = ()
    ticket_id: int | None = None
    source_message_id: int | None = None


class StaffOutbox:
    """FIFO of staff-group jobs under a `TokenBucket`; one worker task, started lazily."""

    def __init__(self, bucket: TokenBucket, *, max_merge: int = 20) -> None:
        self.bucket = bucket
        self.max_merge = max_merge
        self._jobs: deque[OutboxJob] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None

    def put(self, job: OutboxJob) -> None:
        self._jobs.append(job)
        self._idle.clear()
        self._wake.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="carebot-staff-outbox")

    @property
    def pending(self) -> int:
        return len(self._jobs)

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued job ran; False if ``timeout`` seconds were not enough."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def _take_group(self) -> list[OutboxJob]:
        first = self._jobs.popleft()
        group = [first]
        if first.merge_key is None or first.merge_text is None:
            return group
        while (
            self._jobs
            and len(group) < self.max_merge
            and self._jobs[0].merge_key == first.merge_key
            and self._jobs[0].merge_text is not None
        ):
            group.append(self._jobs.popleft())
        return group

    async def _work(self) -> None:
        while True:
            if not self._jobs:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            # Wait for budget *before* taking the group: whatever arrives meanwhile merges.
            await self.bucket.acquire()
            group = self._take_group()
            try:
                await group[0].run(group)
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed post must not stop the outbox; it is logged
                log.exception("staff outbox job failed (ticket %s)", group[0].ticket_id)
