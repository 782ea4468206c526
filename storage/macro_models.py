"""SQLModel table for staff macros: previews (with their send-once claim) and suggestions.

One row per macro preview a staff member opened in a ticket topic and one per script
suggested under a customer message; ``outcome`` records what became of it, which is what
`carebot scripts usage` and the reports count. Schema owned by
``storage/migrations/versions/0009_macros.py``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from storage.types import StrEnumType, UTCDateTime, VerbatimText, utcnow

__all__ = ["MacroKind", "MacroOutcome", "MacroUse"]


class MacroKind(StrEnum):
    """A preview opened by staff, or a script suggested for a customer message."""

    PREVIEW = "preview"
    SUGGESTED = "suggested"


class MacroOutcome(StrEnum):
    """Where a preview or a suggestion stands."""

    #: a preview waiting for a value the ticket does not hold (``asking`` names it)
    ASKING = "asking"
    #: a preview shown with Send / Cancel, or a suggestion nobody acted on yet
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    #: a suggestion passed over: staff typed their own reply or sent another macro
    IGNORED = "ignored"
    #: a suggestion whose preview staff opened, then answered in their own words instead
    EDITED = "edited"


class MacroUse(SQLModel, table=True):
    """One macro preview or one suggested script of one ticket."""

    __tablename__ = "macro_uses"
    __table_args__ = (
        Index("ix_macro_uses_ticket_outcome", "ticket_id", "kind", "outcome"),
        Index("ix_macro_uses_script", "script_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id")
    script_id: str = Field(max_length=128)
    kind: MacroKind = Field(sa_type=StrEnumType(MacroKind, 16))
    outcome: MacroOutcome = Field(sa_type=StrEnumType(MacroOutcome, 16))
    #: suggestions: 1..3 in the line, the ranker's score and the customer message they answer
    rank: int | None = None
    score: float | None = None
    source_message_id: int | None = Field(default=None, sa_type=BigInteger)
    #: previews: who opened it, the values staff gave (JSON), the variable being asked for,
    #: the topic message (prompt or preview) and, when opened from a suggestion, its row
    staff_id: int | None = Field(default=None, sa_type=BigInteger)
    values_json: str | None = Field(default=None, sa_type=VerbatimText)
    asking: str | None = Field(default=None, max_length=64)
    topic_message_id: int | None = Field(default=None, sa_type=BigInteger)
    suggestion_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
