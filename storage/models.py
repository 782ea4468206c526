"""SQLModel tables (customers, message log, tickets, ticket counters) and their enums.

Conventions: every datetime column is :class:`UTCDateTime` (aware UTC in Python), enums are
``StrEnum`` stored as ``VARCHAR``, user-supplied text is :class:`VerbatimText`. The schema is
owned by the Alembic revisions in ``storage/migrations``; keep both in step (a test compares
them).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Index, String
from sqlmodel import Field, SQLModel

from storage.types import Money, StrEnumType, UTCDateTime, VerbatimText, utcnow

__all__ = [
    "ContentType",
    "Customer",
    "Direction",
    "MessageLog",
    "Priority",
    "Ticket",
    "TicketCounter",
    "TicketKind",
    "TicketStatus",
    "Tier",
]

# Deterministic constraint names: SQLite batch migrations can only drop/alter constraints that
# have names, and identical names on both backends keep one set of revisions valid for both.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Direction(StrEnum):
    """Which way a message travelled, seen from the bot."""

    IN = "in"
    OUT = "out"


class ContentType(StrEnum):
    """Telegram content kinds we distinguish in the log."""

    TEXT = "text"
    PHOTO = "photo"
    STICKER = "sticker"
    VOICE = "voice"
    DOCUMENT = "document"
    VIDEO = "video"
    LOCATION = "location"
    CALLBACK = "callback"
    OTHER = "other"


class Tier(StrEnum):
    """Customer value tier (客户分级)."""

    GOLD = "gold"
    SILVER = "silver"
    REGULAR = "regular"


class TicketKind(StrEnum):
    """What the customer came for."""

    COMPLAINT = "complaint"
    INQUIRY = "inquiry"
    FEEDBACK = "feedback"


class TicketStatus(StrEnum):
    """Ticket life cycle; ``resolved`` and ``closed`` are the finished states."""

    NEW = "new"
    OPEN = "open"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_finished(self) -> bool:
        return self in (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class Priority(StrEnum):
    """Ticket priority."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Customer(SQLModel, table=True):
    """A Telegram user who talked to the bot or was imported from the CRM."""

    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_type=BigInteger, unique=True, index=True)
    first_name: str = Field(default="", sa_type=VerbatimText)
    last_name: str | None = Field(default=None, sa_type=VerbatimText)
    username: str | None = Field(default=None, sa_type=String(64))
    language: str = Field(default="zh-Hans", sa_type=String(16))
    surname: str | None = Field(default=None, sa_type=String(64))
    title: str | None = Field(default=None, sa_type=String(32))
    tier: Tier = Field(default=Tier.REGULAR, sa_type=StrEnumType(Tier))
    tier_override: Tier | None = Field(default=None, sa_type=StrEnumType(Tier))
    timezone: str | None = Field(default=None, sa_type=String(64))
    birthday: date | None = Field(default=None)
    total_spend: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    visits: int = Field(default=0)
    referrals: int = Field(default=0)
    last_contact_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    blocked: bool = Field(default=False)
    banned: bool = Field(default=False)
    # JSON list of category names, kept sorted so equal sets compare equal in SQL too.
    opt_outs: str = Field(default="[]", sa_type=VerbatimText)
    # Set when the customer's personal data was erased at their request (0007).
    forgotten_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )

    @property
    def effective_tier(self) -> Tier:
        """The manual override when set, else the computed tier."""
        return Tier(self.tier_override or self.tier)

    def opt_out_categories(self) -> frozenset[str]:
        """Categories the customer asked not to receive (e.g. ``"holiday"``, ``"campaign"``)."""
        raw = json.loads(self.opt_outs or "[]")
        return frozenset(str(item) for item in raw)

    def is_opted_out(self, category: str) -> bool:
        """Whether messages of ``category`` (or ``"all"``) must not be sent."""
        cats = self.opt_out_categories()
        return category in cats or "all" in cats

    def set_opt_outs(self, categories: frozenset[str] | set[str]) -> None:
        self.opt_outs = json.dumps(sorted(categories), ensure_ascii=False)

    def add_opt_out(self, category: str) -> None:
        self.set_opt_outs(self.opt_out_categories() | {category})

    def remove_opt_out(self, category: str) -> None:
        self.set_opt_outs(self.opt_out_categories() - {category})


class Ticket(SQLModel, table=True):
    """A complaint, inquiry or feedback case with its SLA clock."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint("csat_score IS NULL OR csat_score BETWEEN 1 AND 5", name="csat_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_type=String(32), unique=True)
    kind: TicketKind = Field(sa_type=StrEnumType(TicketKind))
    status: TicketStatus = Field(
        default=TicketStatus.NEW, sa_type=StrEnumType(TicketStatus), index=True
    )
    priority: Priority = Field(default=Priority.NORMAL, sa_type=StrEnumType(Priority))
    customer_id: int = Field(foreign_key="customers.id", index=True)
    subject: str = Field(sa_type=VerbatimText)
    assignee_id: int | None = Field(default=None, sa_type=BigInteger)
    topic_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"onupdate": utcnow}
    )
    first_response_due: datetime = Field(sa_type=UTCDateTime)
    resolution_due: datetime = Field(sa_type=UTCDateTime)
    first_responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    csat_score: int | None = Field(default=None)
    csat_comment: str | None = Field(default=None, sa_type=VerbatimText)
    # The ticket card (first message of the staff topic), edited as the ticket moves (0003).
    card_message_id: int | None = Field(default=None, sa_type=BigInteger)
    # Set when the ticket's texts were removed (erasure or retention); counts stay (0007).
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MessageLog(SQLModel, table=True):
    """Every message in or out, stored verbatim (记录: record everything)."""

    __tablename__ = "message_logs"
    __table_args__ = (Index("ix_message_logs_customer_id_created_at", "customer_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    direction: Direction = Field(sa_type=StrEnumType(Direction, 8))
    content_type: ContentType = Field(default=ContentType.TEXT, sa_type=StrEnumType(ContentType))
    text: str | None = Field(default=None, sa_type=VerbatimText)
    intent: str | None = Field(default=None, sa_type=String(128))
    score: float | None = Field(default=None)
    script_id: str | None = Field(default=None, sa_type=String(128))
    script_version: str | None = Field(default=None, sa_type=String(64))
    telegram_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketCounter(SQLModel, table=True):
    """Last ticket sequence number handed out per business day (``YYYYMMDD``)."""

    __tablename__ = "ticket_counters"

    day: str = Field(sa_type=String(8), primary_key=True)
    last: int = Field(default=0)
