"""Repositories for the multi-worker tables: the processed-updates ledger and leader terms.

Like every repository they ``flush`` and never commit: ``UpdateLedgerRepo.claim`` runs inside
the update's own unit of work, which is the whole point (the mark commits with the effects).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.ops_models import LeaderTerm, ProcessedUpdate
from storage.types import utcnow

__all__ = ["LeaderTermRepo", "UpdateLedgerRepo"]


def _insert(session: AsyncSession, table: type[ProcessedUpdate] | type[LeaderTerm]) -> object:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


class UpdateLedgerRepo:
    """Which Telegram updates were already committed (webhook deduplication without Redis)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, update_id: int, now: datetime | None = None) -> bool:
        """Mark ``update_id`` processed in the current transaction; False if it already was.

        On PostgreSQL a concurrent claim of the same id waits on the primary key until the
        first transaction ends: it then sees the row (skip) or, after a rollback, inserts it
        itself - so a retried update runs again only when its first run left no trace.
        """
        stmt = (
            _insert(self.session, ProcessedUpdate)  # type: ignore[attr-defined]
            .values(update_id=update_id, processed_at=now or utcnow())
            .on_conflict_do_nothing(index_elements=["update_id"])
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def seen(self, update_id: int) -> bool:
        row = await self.session.execute(
            select(col(ProcessedUpdate.update_id)).where(
                col(ProcessedUpdate.update_id) == update_id
            )
        )
        return row.first() is not None

    async def prune(self, older_than: datetime) -> int:
        """Forget updates processed before ``older_than`` (Telegram stops retrying after ~24 h)."""
        result = await self.session.execute(
            delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class LeaderTermRepo:
    """Fencing tokens: ``bump`` on acquisition; writers compare with ``current`` before acting."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def bump(self, name: str, holder: str, now: datetime | None = None) -> int:
        """Start a new term for lock ``name`` held by ``holder``; returns the new term."""
        stamp = now or utcnow()
        stmt = (
            _insert(self.session, LeaderTerm)  # type: ignore[attr-defined]
            .values(name=name, term=1, holder=holder, acquired_at=stamp)
            .on_conflict_do_update(
                index_elements=["name"],
                set_={"term": col(LeaderTerm.term) + 1, "holder": holder, "acquired_at": stamp},
            )
            .returning(col(LeaderTerm.term))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def current(self, name: str) -> int:
        row = await self.session.execute(
            select(col(LeaderTerm.term)).where(col(LeaderTerm.name) == name)
        )
        return int(row.scalar_one_or_none() or 0)
