"""A leader lock on PostgreSQL: a session-level advisory lock plus a fencing term.

The lock lives as long as one dedicated connection: when the holder dies (even by SIGKILL) the
server ends its session and the lock is free at once, so a standby polling
``pg_try_advisory_lock`` takes over on its next attempt. Each acquisition bumps the term in
``leader_terms`` (the fencing token); ``renew`` checks both the connection and that the term is
still ours, and
jobs with side effects can compare their term with ``LeaderTermRepo.current`` (fencing) so a
paused ex-leader cannot act after someone else took over.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.database import Database
from storage.ops_repos import LeaderTermRepo

__all__ = ["PostgresLeaderLock", "advisory_key"]

log = logging.getLogger("carebot.leader")


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks are keyed by bigint)."""
    digest = hashlib.blake2b(f"carebot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLeaderLock:
    """Implements ``care.runtime.leadership.LeaderLock`` (structurally: storage imports no care)."""

    def __init__(self, database: Database, name: str, holder: str, *, timeout: float = 5.0) -> None:
        if database.is_sqlite:
            raise ValueError("PostgresLeaderLock needs a PostgreSQL database")
        self.database = database
        self.name = name
        self.holder = holder
        self.timeout = timeout
        self.key = advisory_key(name)
        self.term: int | None = None
        self._conn: AsyncConnection | None = None

    @property
    def is_leader(self) -> bool:
        return self._conn is not None

    @property
    def fencing_token(self) -> int | None:
        return self.term

    async def acquire(self) -> bool:
        """Try once, without waiting; True when this process is now the leader."""
        if self._conn is not None:
            return True
        conn: AsyncConnection | None = None
        try:
            async with asyncio.timeout(self.timeout):
                conn = await self.database.engine.connect()
                got = (
                    await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
                ).scalar_one()
                await conn.commit()  # end the implicit transaction; the lock is session-level
                if not got:
                    await conn.close()
                    return False
                async with AsyncSession(bind=conn) as session:
                    term = await LeaderTermRepo(session).bump(self.name, self.holder)
                    await session.commit()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("leader lock %s: acquire failed: %s", self.name, exc)
            if conn is not None:
                await _close_quietly(conn)
            return False
        self._conn, self.term = conn, term
        log.info("leader lock %s acquired by %s (term %d)", self.name, self.holder, term)
        return True

    async def renew(self) -> bool:
        """True while our connection is alive and nobody started a newer term."""
        if self._conn is None or self.term is None:
            return False
        try:
            async with asyncio.timeout(self.timeout), AsyncSession(bind=self._conn) as session:
                current = await LeaderTermRepo(session).current(self.name)
                await session.commit()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("leader lock %s: lost the connection: %s", self.name, exc)
            await self._drop()
            return False
        if current != self.term:
            log.warning("leader lock %s: term %s superseded by %s", self.name, self.term, current)
            await self._drop()
            return False
        return True

    async def release(self) -> None:
        if self._conn is None:
            return
        try:
            async with asyncio.timeout(self.timeout):
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                await self._conn.commit()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning(
                "leader lock %s: unlock failed (the server frees it on close): %s", self.name, exc
            )
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn, self.term = self._conn, None, None
        if conn is not None:
            await _close_quietly(conn)


async def _close_quietly(conn: AsyncConnection) -> None:
    try:
        await conn.close()
    except (SQLAlchemyError, OSError) as exc:  # already broken: nothing more to free here
        log.debug("closing a broken connection: %s", exc)
