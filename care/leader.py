"""Leader election: exactly one process runs the scheduler and sends campaigns.

`LeaderLock` is the interface; `FileLeaderLock` implements it for the embedded default (one
machine, SQLite) with an `fcntl` lock on a file in the data folder, which the kernel releases
when the holder dies - even on kill -9. The production deployment adds PostgreSQL-advisory or
Redis implementations of the same protocol; `care.leadership` chooses one and runs the leader
loop (`run_as_leader`) for both `carebot run` and `carebot webhook`.

Fencing: each successful acquisition gets a token larger than every earlier one (stored in
the lock file), so work stamped with a stale token can be recognised.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["FileLeaderLock", "LeaderLock"]


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
