"""The pacer against a fake clock: no one-second window ever holds more than the rate."""

from __future__ import annotations

import asyncio
import bisect

import pytest

from care.outreach.sender import Pacer
from tests.care.care_helpers import TimeMachine


def busiest(times: list[float], width: float = 1.0) -> int:
    """Most sends in any half-open window [t, t + width)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + width) - i for i, t in enumerate(times)), default=0)


async def _run(pacer: Pacer, timer: TimeMachine, n: int, stalls: dict[int, float]) -> list[float]:
    taken: list[float] = []
    for i in range(n):
        if i in stalls:
            timer.travel(seconds=stalls[i])  # the event loop was busy elsewhere
        await pacer.wait_turn(chat_id=i)
        taken.append(timer.monotonic())
    return taken


@pytest.mark.parametrize("rate", [1000.0, 30.0, 20.5, 1.0])
async def test_no_sliding_second_exceeds_the_rate_even_after_stalls(rate: float) -> None:
    timer = TimeMachine()
    pacer = Pacer(rate, per_chat_interval=1.0, timer=timer)
    n = int(rate * 6) + 5
    # Stalls of a quarter, a half and a whole second, at odd places.
    stalls = {n // 5: 0.25, n // 3: 0.5, n // 2: 1.0, (2 * n) // 3: 0.05}
    taken = await _run(pacer, timer, n, stalls)
    assert busiest(taken) <= int(rate)
    # ... while still catching up: the average stays at the rate (stalls excluded).
    assert taken[-1] - taken[0] <= (n - 1) / rate + sum(stalls.values()) + 0.05


async def test_the_burst_after_a_stall_is_a_quarter_second_at_most() -> None:
    timer = TimeMachine()
    pacer = Pacer(1000.0, per_chat_interval=1.0, timer=timer)
    taken = await _run(pacer, timer, 3000, {1500: 0.6})
    after = [t for t in taken if t >= taken[1500]]
    at_once = sum(1 for t in after if t == after[0])
    assert at_once <= 250
    assert busiest(taken, 0.25) <= 250 + 250  # the burst plus a quarter second of refill


async def test_concurrent_waiters_are_served_in_order_within_the_rate() -> None:
    timer = TimeMachine()
    pacer = Pacer(50.0, per_chat_interval=1.0, timer=timer)
    taken: list[tuple[float, int]] = []

    async def one(chat: int) -> None:
        await pacer.wait_turn(chat)
        taken.append((timer.monotonic(), chat))

    await asyncio.gather(*(one(c) for c in range(400)))
    assert [c for _, c in taken] == list(range(400))  # FIFO
    assert busiest([t for t, _ in taken]) <= 50


async def test_pause_and_per_chat_spacing_still_hold() -> None:
    timer = TimeMachine()
    pacer = Pacer(100.0, per_chat_interval=1.0, timer=timer)
    await pacer.wait_turn(7)
    first = timer.monotonic()
    await pacer.wait_turn(7)  # the same chat: a second later
    assert timer.monotonic() - first >= 1.0
    pacer.pause(5.0)
    paused_at = timer.monotonic()
    await pacer.wait_turn(8)
    assert timer.monotonic() >= paused_at + 5.0


def test_busiest_counts_half_open_windows() -> None:
    assert busiest([0.0, 0.5, 1.0, 1.5]) == 2
    assert busiest([0.0, 0.0, 0.999]) == 3
    assert busiest([]) == 0
