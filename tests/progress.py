"""Waiting by progress, not by the clock: a wait fails when nothing moves, not when time is up.

CI shares a 2-core machine that is sometimes loaded to a load average of 8; then everything takes
several times longer than on a quiet machine, and any fixed budget ("ready within 60 s") is a
coin toss. So a wait here keeps going for as long as something observable still moves:

* a *watched value* changed (calls the fake Bot API recorded, updates acknowledged, a log file's
  size, ...), or
* the watched processes (this one, by default, plus any pids given, with their children) used
  another ``CPU_STEP`` seconds of CPU: a slow machine still gives a working process CPU time,
  a hung one (deadlock, lost wake-up, a child stuck on a lock) uses next to none.

It fails with ``Stalled`` once nothing moved for ``stall`` seconds, naming what it waited for.
A busy loop that never finishes is left to pytest-timeout, the suite's last-resort backstop.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import psutil

T = TypeVar("T")

# How long nothing may move before a wait gives up. Generous: only a real hang gets there.
STALL_SECONDS = float(os.environ.get("CAREBOT_TEST_STALL_SECONDS", "60"))
# CPU seconds the watched processes must use to count as "still working": 5% of the stall window,
# between 0.05 and 1 s. A hung process (aiogram's long poll against an idle fake, a retry loop)
# uses about 1% of a core; a working one on a machine loaded to 8 still gets 20% or more.
CPU_SHARE = 0.05
CPU_STEP = 1.0


class Stalled(AssertionError):
    """Nothing moved for the whole stall window: the thing waited for is stuck, not slow."""


def _cpu_seconds(pids: Iterable[int], include_self: bool) -> float:
    total = time.process_time() if include_self else 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue  # exited: its CPU stops counting, its exit is for the caller to notice
        for one in procs:
            try:
                times = one.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


class Progress:
    """Whether anything moved lately; ``check()`` raises `Stalled` after ``stall`` idle seconds.

    ``value`` is called on every check; any change of its result counts as progress.
    ``pids`` (a sequence, or a callable returning one, for processes that come and go) are
    watched for CPU use together with this process (``include_self``).
    """

    def __init__(
        self,
        what: str,
        *,
        value: Callable[[], object] | None = None,
        pids: Sequence[int] | Callable[[], Sequence[int]] = (),
        include_self: bool = True,
        stall: float | None = None,
    ) -> None:
        self.what = what
        self.stall = STALL_SECONDS if stall is None else stall
        self._value = value
        self._pids = pids
        self._include_self = include_self
        self._last_value = value() if value is not None else None
        self._cpu_step = min(max(self.stall * CPU_SHARE, 0.05), CPU_STEP)
        self._cpu_mark = self._cpu()
        self._moved_at = time.monotonic()

    def _cpu(self) -> float:
        pids = self._pids() if callable(self._pids) else self._pids
        return _cpu_seconds(pids, self._include_self)

    def moved(self) -> bool:
        """Record and report whether something moved since the last time it did."""
        moved = False
        if self._value is not None:
            current = self._value()
            if current != self._last_value:
                self._last_value = current
                moved = True
        cpu = self._cpu()
        if cpu - self._cpu_mark >= self._cpu_step:
            moved = True
        if moved:
            self._cpu_mark = cpu
            self._moved_at = time.monotonic()
        return moved

    @property
    def idle_seconds(self) -> float:
        return time.monotonic() - self._moved_at

    def check(self) -> None:
        self.moved()
        if self.idle_seconds > self.stall:
            raise Stalled(f"{self.what}: nothing moved for {self.stall:.0f} s")


async def wait_until(
    condition: Callable[[], T | None] | Callable[[], Awaitable[T | None]],
    what: str,
    *,
    value: Callable[[], object] | None = None,
    pids: Sequence[int] | Callable[[], Sequence[int]] = (),
    stall: float | None = None,
    interval: float = 0.02,
) -> T:
    """Poll ``condition`` (sync or async) until it returns something truthy; return that."""
    progress = Progress(what, value=value, pids=pids, stall=stall)
    while True:
        result = condition()
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        if result:
            return result  # type: ignore[return-value]
        progress.check()
        await asyncio.sleep(interval)


async def finish(
    awaitable: Awaitable[T],
    what: str,
    *,
    value: Callable[[], object] | None = None,
    pids: Sequence[int] | Callable[[], Sequence[int]] = (),
    stall: float | None = None,
) -> T:
    """Await ``awaitable`` for as long as things keep moving (``asyncio.wait_for`` by progress)."""
    task = asyncio.ensure_future(awaitable)
    progress = Progress(what, value=value, pids=pids, stall=stall)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if done:
                return task.result()
            progress.check()
    finally:
        if not task.done():
            task.cancel()


def wait_until_sync(
    condition: Callable[[], T | None],
    what: str,
    *,
    value: Callable[[], object] | None = None,
    pids: Sequence[int] | Callable[[], Sequence[int]] = (),
    stall: float | None = None,
    interval: float = 0.05,
) -> T:
    """`wait_until` for code without an event loop (threads, subprocesses)."""
    progress = Progress(what, value=value, pids=pids, stall=stall)
    while True:
        result = condition()
        if result:
            return result
        progress.check()
        time.sleep(interval)


def run_process(
    args: Sequence[str],
    *,
    what: str | None = None,
    input: str | None = None,
    env: dict[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    check: bool = False,
    stall: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run(capture_output=True, text=True)` that waits as long as the child works.

    The child (and its children) must keep using CPU or finish; one stuck for ``stall`` seconds
    is killed and the test fails with what it printed so far.
    """
    proc = subprocess.Popen(
        list(args),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )
    what = what or " ".join(args[:4])
    progress = Progress(what, pids=[proc.pid], include_self=False, stall=stall)
    pending_input = input
    try:
        while True:
            try:
                # Retrying communicate() after a timeout loses no output; the input is handed
                # over on the first call only (a retry with input is refused).
                stdout, stderr = proc.communicate(pending_input, timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pending_input = None
                progress.check()
    except Stalled as stalled:
        proc.kill()
        stdout, stderr = proc.communicate()
        raise Stalled(f"{stalled}\n--- stdout\n{stdout}\n--- stderr\n{stderr}") from None
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    result = subprocess.CompletedProcess(list(args), proc.returncode, stdout, stderr)
    if check:
        result.check_returncode()
    return result


def describe(result: subprocess.CompletedProcess[Any]) -> str:
    """What a failed child said, for assertion messages."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
