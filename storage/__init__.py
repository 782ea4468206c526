"""Persistence for carebot: the async ``Database`` (engine, sessions, Alembic migrations), the
SQLModel tables with their enums, and repositories that keep all SQL inside this package.

Typical use, one unit of work per Telegram update::

    db = Database(settings.database_url)
    await db.upgrade()
    async with db.transaction() as session:       # commits on success, rolls back on error
        customer = await CustomerRepo(session).upsert_from_telegram(user.id, user.first_name)
        await MessageRepo(session).log(customer_id=customer.id, direction=Direction.IN,
                                       content_type=ContentType.TEXT, text=message.text)
    await db.dispose()
"""

from __future__ import annotations

from storage.care_models import (
    Campaign,
    CampaignStatus,
    CareTask,
    CareTaskStatus,
    Delivery,
    DeliveryStatus,
)
from storage.care_repos import (
    AudienceMember,
    CampaignRepo,
    CareTaskRepo,
    ClaimedDelivery,
    DeliveryRepo,
    DeliveryResult,
    ProfileRepo,
    TierInput,
)
from storage.database import Database, Session
from storage.models import (
    ContentType,
    Customer,
    Direction,
    MessageLog,
    Priority,
    Ticket,
    TicketCounter,
    TicketKind,
    TicketStatus,
    Tier,
)
from storage.repositories import CustomerRepo, MessageRepo, TicketRepo, format_ticket_number
from storage.types import UTCDateTime, utcnow

__all__ = [
    "AudienceMember",
    "Campaign",
    "CampaignRepo",
    "CampaignStatus",
    "CareTask",
    "CareTaskRepo",
    "CareTaskStatus",
    "ClaimedDelivery",
    "ContentType",
    "Customer",
    "CustomerRepo",
    "Database",
    "Delivery",
    "DeliveryRepo",
    "DeliveryResult",
    "DeliveryStatus",
    "Direction",
    "MessageLog",
    "MessageRepo",
    "Priority",
    "ProfileRepo",
    "Session",
    "Ticket",
    "TicketCounter",
    "TicketKind",
    "TicketRepo",
    "TicketStatus",
    "Tier",
    "TierInput",
    "UTCDateTime",
    "format_ticket_number",
    "utcnow",
]
