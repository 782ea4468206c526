"""The progress-following waits the suite relies on: slow is fine, stuck fails, with a reason."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.progress import Progress, Stalled, finish, run_process, wait_until


async def test_a_wait_that_sees_nothing_move_fails_naming_what_it_waited_for() -> None:
    with pytest.raises(Stalled, match="the moon"):
        await wait_until(lambda: False, "the moon", stall=0.2)


async def test_a_moving_value_keeps_a_wait_alive_past_its_stall_window() -> None:
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    ticker = asyncio.create_task(tick())
    try:
        # Three times the stall window, but the value moves all along: no Stalled.
        await wait_until(lambda: ticks >= 12, "ticks", value=lambda: ticks, stall=0.2)
    finally:
        ticker.cancel()
    assert ticks >= 12


def test_cpu_use_counts_as_progress() -> None:
    progress = Progress("busy", stall=0.2)
    spin = 0
    while not progress.moved():  # 5% of 0.2 s = 0.05 s of CPU moves it
        spin += 1
    assert progress.idle_seconds < 0.2


async def test_finish_returns_the_result_or_stalls() -> None:
    assert await finish(asyncio.sleep(0.01, result=7), "a short sleep") == 7
    with pytest.raises(Stalled):
        await finish(asyncio.Event().wait(), "an event nobody sets", stall=0.2)


def test_run_process_returns_output_and_kills_a_stuck_child() -> None:
    done = run_process([sys.executable, "-c", "print(input()[::-1])"], input="olleh\n")
    assert done.returncode == 0 and done.stdout.strip() == "hello"
    # A child slower than one communicate() round still gets its whole input, once.
    slow = "import time; time.sleep(1.2); import sys; print(sys.stdin.read().upper())"
    done = run_process([sys.executable, "-c", slow], input="a\nb\n")
    assert done.stdout.split() == ["A", "B"]
    with pytest.raises(Stalled, match="sleeper"):
        run_process(
            [sys.executable, "-c", "import time; time.sleep(60)"], what="sleeper", stall=1.0
        )
