"""SQLModel tables for staff takeover: the message-pair map and the ticket audit trail.

``message_pairs`` links a customer's private-chat message to its copy in the ticket's staff
forum topic (and a staff reply to its copy in the customer's chat), so edits and replies can
be mirrored both ways. ``ticket_events`` records every staff action and SLA alert (记录: write
everything down). Schema owned by ``storage/migrations/versions/0003_staff.py``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from storage.models import Direction
from storage.types import StrEnumType, UTCDateTime, VerbatimText, utcnow

__all__ = ["MessagePair", "TicketEvent", "TicketEventKind"]


class TicketEventKind(StrEnum):
    """What happened to a ticket (the audit trail's verbs)."""

    ESCALATED = "escalated"
    TAKE = "take"
    RELEASE = "release"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    NOTE = "note"
    ASSIGN = "assign"
    BAN = "ban"
    UNBAN = "unban"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    CUSTOMER_BLOCKED = "customer_blocked"
    TOPIC_RECREATED = "topic_recreated"
    CSAT = "csat"


class MessagePair(SQLModel, table=True):
    """One message and its mirror: customer chat <-> staff topic.

    ``direction`` is seen from the customer: ``in`` = the customer wrote it and the topic holds
    the copy, ``out`` = staff wrote it and the customer's chat holds the copy. ``merged`` marks
    a topic message that carries several customer texts (a burst merged under the staff
    group's rate budget); it cannot be edited in place for just one of them.
    """

    __tablename__ = "message_pairs"
    __table_args__ = (
        Index("ix_message_pairs_customer", "customer_chat_id", "customer_message_id"),
        Index("ix_message_pairs_staff", "staff_chat_id", "staff_message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    direction: Direction = Field(sa_type=StrEnumType(Direction, 8))
    customer_chat_id: int = Field(sa_type=BigInteger)
    customer_message_id: int = Field(sa_type=BigInteger)
    staff_chat_id: int = Field(sa_type=BigInteger)
    staff_message_id: int = Field(sa_type=BigInteger)
    merged: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketEvent(SQLModel, table=True):
    """One entry of a ticket's audit trail: who did what, when, with what text."""

    __tablename__ = "ticket_events"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    kind: TicketEventKind = Field(sa_type=StrEnumType(TicketEventKind))
    actor_id: int | None = Field(default=None, sa_type=BigInteger)
    actor_name: str | None = Field(default=None, sa_type=VerbatimText)
    text: str | None = Field(default=None, sa_type=VerbatimText)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
