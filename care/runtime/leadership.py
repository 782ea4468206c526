"""Exactly one scheduler among many processes: the leader lock protocol, its implementations
with fencing terms, and the loop that runs the leader-only work while the lock is held.

`LeaderLock` is the interface (``acquire``/``renew``/``release``, ``is_leader``,
``fencing_token``); both `carebot run` and `carebot webhook` campaign with `run_as_leader`.
The fencing token grows with every acquisition (stored with the lock), so work done under an
old term can be recognised and refused.

Implementations, chosen by `build_leader_lock` from the settings:

* `RedisLeaderLock` (``REDIS_URL`` set): ``SET NX PX`` with a renewed TTL; the term comes from
  ``INCR``. A dead holder's key expires after ``ttl`` seconds (default 15), so a standby polling
  every ``poll`` seconds (default 5) takes over within ~20 s.
* `storage.PostgresLeaderLock` (PostgreSQL ``DATABASE_URL``): an advisory lock on a dedicated
  connection, freed by the server the moment the holder's connection drops.
* otherwise `FileLeaderLock` beside the SQLite database (one host): an `fcntl` lock on a file
  in the data folder, which the kernel releases when the holder dies - even on kill -9.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from care.runtime.metrics import Metrics
from care.runtime.settings import Settings
from storage import Database, PostgresLeaderLock

__all__ = [
    "FileLeaderLock",
    "LeaderLock",
    "RedisLeaderLock",
    "StopFn",
    "build_leader_lock",
    "default_holder",
    "run_as_leader",
]

log = logging.getLogger("carebot.leader")

#: What `run_as_leader`'s ``on_elected`` returns: stops the leader-only work.
StopFn = Callable[[], Awaitable[None]]

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@runtime_checkable
class LeaderLock(Protocol):
    """At most one holder at a time across processes."""

    async def acquire(self) -> bool:
        """Try once, without waiting; True when this process is now the leader."""
        ...

    async def renew(self) -> bool:
        """Extend the lease; False when leadership was lost (stop leader work at once)."""
        ...

    async def release(self) -> None:
        """Give leadership up (idempotent)."""
        ...

    @property
    def is_leader(self) -> bool: ...

    @property
    def fencing_token(self) -> int | None:
        """Monotonic token of the current tenure (None when not the leader)."""
        ...


class FileLeaderLock:
    """An exclusive, non-blocking `flock` on `path`; the OS drops it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._token: int | None = None

    @property
    def is_leader(self) -> bool:
        return self._fd is not None

    @property
    def fencing_token(self) -> int | None:
        return self._token

    async def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        token = (int(raw) if raw.isdigit() else 0) + 1
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{token}\n".encode("ascii"), 0)
        os.fsync(fd)
        self._fd, self._token = fd, token
        return True

    async def renew(self) -> bool:
        # An flock is held until released or the process dies: nothing can take it away.
        return self._fd is not None

    async def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd, self._token = None, None


def default_holder() -> str:
    """Who holds a lock, for logs and the ``leader_terms`` table: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RedisLeaderLock:
    """Leader lock in Redis: the value names the holder and term; renewals are compare-and-set."""

    def __init__(
        self, redis: Redis, name: str, holder: str, *, ttl: float = 15.0, prefix: str = "carebot"
    ) -> None:
        self.redis = redis
        self.key = f"{prefix}:leader:{name}"
        self.term_key = f"{prefix}:leader:{name}:term"
        self.holder = holder
        self.ttl_ms = int(ttl * 1000)
        self.term: int | None = None
        self._value: str | None = None

    @property
    def is_leader(self) -> bool:
        return self._value is not None

    @property
    def fencing_token(self) -> int | None:
        return self.term

    async def acquire(self) -> bool:
        if self._value is not None:
            return True
        try:
            # The term is bumped only by the winner: a failed attempt must not burn numbers
            # that a fenced writer could confuse with a real term. SET NX first, then INCR.
            provisional = f"{self.holder}:pending"
            if not await self.redis.set(self.key, provisional, nx=True, px=self.ttl_ms):
                return False
            term = int(await self.redis.incr(self.term_key))
            value = f"{self.holder}:{term}"
            # Swap the provisional value for the final one only if it is still ours.
            swapped = await self.redis.set(self.key, value, xx=True, px=self.ttl_ms, get=True)
            current = swapped.decode() if isinstance(swapped, bytes) else swapped
            if current != provisional:
                return False
        except RedisError as exc:
            log.warning("leader lock %s: Redis unavailable: %s", self.key, exc)
            return False
        self._value, self.term = value, term
        log.info("leader lock %s acquired by %s (term %d)", self.key, self.holder, term)
        return True

    async def renew(self) -> bool:
        if self._value is None:
            return False
        try:
            renewed = await self.redis.eval(_RENEW, 1, self.key, self._value, str(self.ttl_ms))
        except RedisError as exc:
            # We cannot prove we still hold it, so we must act as if we do not.
            log.warning("leader lock %s: cannot renew: %s", self.key, exc)
            renewed = 0
        if not renewed:
            self._value, self.term = None, None
            return False
        return True

    async def release(self) -> None:
        value, self._value, self.term = self._value, None, None
        if value is None:
            return
        with contextlib.suppress(RedisError):  # it expires by itself anyway
            await self.redis.eval(_RELEASE, 1, self.key, value)

    async def current_term(self) -> int:
        """The newest term handed out (for fencing checks by writers)."""
        raw = await self.redis.get(self.term_key)
        return int(raw or 0)


def build_leader_lock(
    settings: Settings,
    database: Database,
    redis: Redis | None,
    *,
    name: str = "scheduler",
    holder: str | None = None,
) -> LeaderLock:
    """Redis when configured, else PostgreSQL's advisory lock, else a file lock (one host)."""
    holder = holder or default_holder()
    if redis is not None:
        return RedisLeaderLock(
            redis, name, holder, ttl=settings.leader_ttl_seconds, prefix=settings.redis_prefix
        )
    if not database.is_sqlite:
        return PostgresLeaderLock(database, name, holder)
    return FileLeaderLock(_lock_dir(settings, database) / f"carebot.{name}.lock")


def _lock_dir(settings: Settings, database: Database) -> Path:
    if settings.care.lock_dir:
        return Path(settings.care.lock_dir)
    sqlite_file = database.url.database or ""
    if sqlite_file and sqlite_file != ":memory:":
        return Path(sqlite_file).expanduser().resolve().parent
    return settings.data_dir


async def run_as_leader(
    lock: LeaderLock,
    on_elected: Callable[[int], Awaitable[StopFn]],
    stop: asyncio.Event,
    *,
    poll: float = 5.0,
    renew: float | None = None,
    metrics: Metrics | None = None,
) -> None:
    """Campaign for leadership until ``stop`` is set; while leader, keep the work running.

    ``on_elected(term)`` starts the leader-only work and returns how to stop it; it is stopped
    as soon as the lock cannot be renewed (another process may already have taken over) and
    when ``stop`` is set. ``renew`` defaults to ``poll``.
    """
    renew = renew if renew is not None else poll
    while not stop.is_set():
        if not await lock.acquire():
            await _sleep_or_stop(stop, poll)
            continue
        term = lock.fencing_token or 0
        if metrics is not None:
            metrics.leader.set(1)
        stop_work = await on_elected(term)
        try:
            while not stop.is_set():
                await _sleep_or_stop(stop, renew)
                if stop.is_set() or not await lock.renew():
                    break
        finally:
            if metrics is not None:
                metrics.leader.set(0)
            await stop_work()
            await lock.release()
        if not stop.is_set():
            log.warning("lost the leader lock (term %d); campaigning again", term)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
