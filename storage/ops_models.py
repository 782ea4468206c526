"""SQLModel tables for running several workers: processed webhook updates and leader terms.

``processed_updates`` is the webhook's deduplication ledger when no Redis is configured: a row
is inserted in the *same transaction* as the update's own writes, so it exists exactly when the
update's effects were committed (a failed update leaves no mark and Telegram's retry runs it
again). ``leader_terms`` holds the fencing token of each named leader lock: a number that only
grows, bumped on every acquisition. Schema owned by ``storage/migrations/versions/0004_updates.py``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

__all__ = ["LeaderTerm", "ProcessedUpdate"]


class ProcessedUpdate(SQLModel, table=True):
    """One committed Telegram update. Ids are not monotonic (Telegram restarts them at random
    after a week of silence), so old rows are pruned by age, never by id."""

    __tablename__ = "processed_updates"

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    processed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class LeaderTerm(SQLModel, table=True):
    """The current term (fencing token) of a named leader lock and who holds it."""

    __tablename__ = "leader_terms"

    name: str = Field(sa_type=String(64), primary_key=True)
    term: int = Field(default=0, sa_type=BigInteger)
    holder: str = Field(default="", sa_type=String(128))
    acquired_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
