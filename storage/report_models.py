"""SQLModel table for manager reports: which weeks' digests were sent.

Schema owned by ``storage/migrations/versions/0006_reports.py``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

__all__ = ["ReportDigest"]


class ReportDigest(SQLModel, table=True):
    """One weekly digest, claimed by the leader just before it is sent (``2026-W49``)."""

    __tablename__ = "report_digests"

    week: str = Field(sa_type=String(10), primary_key=True)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
