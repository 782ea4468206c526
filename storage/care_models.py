"""SQLModel tables for care greetings: campaigns, the delivery ledger and staff care tasks.

The ledger (``deliveries``) is the sender's source of truth: one row per campaign x customer
(unique), written *before* anything is sent, so a crash can always be resumed from it without
sending anyone a second greeting. Schema owned by ``storage/migrations/versions/0002_care.py``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import Tier
from storage.types import StrEnumType, UTCDateTime, VerbatimText, utcnow

__all__ = [
    "Campaign",
    "CampaignStatus",
    "CareTask",
    "CareTaskStatus",
    "Delivery",
    "DeliveryStatus",
    "DeliveryTally",
]


class CampaignStatus(StrEnum):
    """Campaign life cycle: draft -> scheduled -> running -> done (paused/cancelled aside)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        return self in (CampaignStatus.DONE, CampaignStatus.CANCELLED)


class DeliveryStatus(StrEnum):
    """One ledger row's state; ``sent``, ``failed``, ``blocked`` and ``skipped`` are final."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"

    @property
    def is_final(self) -> bool:
        return self not in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class CareTaskStatus(StrEnum):
    """A staff care task (e.g. a personal call to a gold customer)."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Campaign(SQLModel, table=True):
    """An occasion + one greeting script per tier + an audience filter + a send window."""

    __tablename__ = "campaigns"

    id: int | None = Field(default=None, primary_key=True)
    # Natural key for campaigns made by the scheduler (e.g. "birthday:2026-11-23"), so a job
    # that runs twice finds the campaign it already made instead of creating a second one.
    key: str | None = Field(default=None, sa_type=String(64), unique=True)
    name: str = Field(sa_type=VerbatimText)
    occasion: str = Field(sa_type=String(64))
    occasion_date: date | None = Field(default=None)
    category: str = Field(default="holiday", sa_type=String(32))
    script_gold: str | None = Field(default=None, sa_type=String(128))
    script_silver: str | None = Field(default=None, sa_type=String(128))
    script_regular: str | None = Field(default=None, sa_type=String(128))
    # JSON object, see care.outreach.campaigns.Audience.
    audience: str = Field(default="{}", sa_type=VerbatimText)
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime)
    status: CampaignStatus = Field(
        default=CampaignStatus.DRAFT, sa_type=StrEnumType(CampaignStatus), index=True
    )
    paid_broadcast: bool = Field(default=False)
    created_by: str = Field(default="", sa_type=VerbatimText)
    progress_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    progress_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    scheduled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    def script_for(self, tier: Tier | str) -> str | None:
        return {
            Tier.GOLD: self.script_gold,
            Tier.SILVER: self.script_silver,
            Tier.REGULAR: self.script_regular,
        }[Tier(tier)]


class Delivery(SQLModel, table=True):
    """The ledger: one row per campaign x customer, moved pending -> sending -> final."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_deliveries_campaign_customer"),
        Index("ix_deliveries_campaign_id_status", "campaign_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    customer_id: int = Field(foreign_key="customers.id", index=True)
    chat_id: int = Field(sa_type=BigInteger)
    tier: Tier = Field(sa_type=StrEnumType(Tier))
    status: DeliveryStatus = Field(
        default=DeliveryStatus.PENDING, sa_type=StrEnumType(DeliveryStatus)
    )
    attempts: int = Field(default=0)
    error: str | None = Field(default=None, sa_type=VerbatimText)
    # Quiet hours: not to be sent before this instant (the customer's local morning).
    not_before: datetime | None = Field(default=None, sa_type=UTCDateTime)
    script_id: str | None = Field(default=None, sa_type=String(128))
    script_version: str | None = Field(default=None, sa_type=String(64))
    telegram_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CareTask(SQLModel, table=True):
    """Work for staff: e.g. call a gold customer personally on the occasion (电话关怀)."""

    __tablename__ = "care_tasks"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id", "customer_id", "kind", name="uq_care_tasks_campaign_customer_kind"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaigns.id")
    customer_id: int = Field(foreign_key="customers.id", index=True)
    kind: str = Field(default="personal_call", sa_type=String(32))
    occasion: str = Field(sa_type=String(64))
    due_date: date | None = Field(default=None)
    status: CareTaskStatus = Field(
        default=CareTaskStatus.OPEN, sa_type=StrEnumType(CareTaskStatus), index=True
    )
    note: str | None = Field(default=None, sa_type=VerbatimText)
    staff_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: str | None = Field(default=None, sa_type=VerbatimText)


class DeliveryTally(SQLModel, table=True):
    """Counts of ledger rows deleted by retention or erasure, so campaign reports add up (0007)."""

    __tablename__ = "delivery_tallies"

    campaign_id: int = Field(foreign_key="campaigns.id", primary_key=True)
    tier: Tier = Field(sa_type=StrEnumType(Tier), primary_key=True)
    status: DeliveryStatus = Field(sa_type=StrEnumType(DeliveryStatus), primary_key=True)
    count: int = Field(default=0)
