"""The staff-group outbox: budget respected, bursts merged, order kept (no real waiting)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.staff.outbox import OutboxJob, StaffOutbox, TokenBucket
from tests.progress import wait_until


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_bursts_merge_while_the_budget_is_spent() -> None:
    clock = _Clock()
    bucket = TokenBucket(2, period=60.0, clock=clock)
    outbox = StaffOutbox(bucket)
    sent: list[list[str | None]] = []

    async def run(group: Sequence[OutboxJob]) -> None:
        sent.append([job.merge_text for job in group])

    for i in range(2):  # spaced out, within budget: sent one by one, at once
        outbox.put(OutboxJob(run=run, merge_key=10, merge_text=f"m{i}"))
        await wait_until(lambda i=i: len(sent) == i + 1, f"post m{i}")
    assert sent == [["m0"], ["m1"]]
    for i in range(2, 6):  # a burst with the budget spent: it waits...
        outbox.put(OutboxJob(run=run, merge_key=10, merge_text=f"m{i}"))
    outbox.put(OutboxJob(run=run))  # a staff-facing post: never merged
    await asyncio.sleep(0.05)
    assert sent == [["m0"], ["m1"]]
    clock.now = 60.0  # ...until the budget is back, then goes out as one message
    await wait_until(lambda: outbox.drain(0.05), "the outbox to drain")
    assert sent == [["m0"], ["m1"], ["m2", "m3", "m4", "m5"], [None]]
    await outbox.aclose()


async def test_a_failing_job_does_not_stop_the_outbox() -> None:
    outbox = StaffOutbox(TokenBucket(100))
    done: list[int] = []

    async def boom(group: Sequence[OutboxJob]) -> None:
        raise RuntimeError("telegram said no")

    async def ok(group: Sequence[OutboxJob]) -> None:
        done.append(1)

    outbox.put(OutboxJob(run=boom))
    outbox.put(OutboxJob(run=ok))
    await wait_until(lambda: outbox.drain(0.05), "the outbox to drain")
    assert done == [1]
    await outbox.aclose()
