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

from storage.backup import (
    BackupError,
    DumpCommand,
    inspect_pg_dump,
    inspect_sqlite,
    pg_dump_command,
    pg_restore_command,
    run_command,
    sqlite_backup,
    sqlite_in_use,
    sqlite_restore,
)
from storage.care_models import (
    Campaign,
    CampaignStatus,
    CareTask,
    CareTaskStatus,
    Delivery,
    DeliveryStatus,
    DeliveryTally,
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
from storage.copy import CopyError, CopyReport, copy_database
from storage.database import Database, Session
from storage.leader import PostgresLeaderLock
from storage.macro_models import MacroKind, MacroOutcome, MacroUse
from storage.macro_repos import MacroRepo, MacroUsage
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
from storage.ops_models import LeaderTerm, ProcessedUpdate
from storage.ops_repos import LeaderTermRepo, UpdateLedgerRepo
from storage.privacy import (
    ERASED,
    FORGOTTEN_ID_BASE,
    PERSONAL_TABLES,
    ForgetCounts,
    PrivacyRepo,
    TopicCleanup,
)
from storage.report_models import ReportDigest
from storage.report_queries import (
    TICKET_COLUMNS,
    CampaignCount,
    CommentRow,
    DigestLedger,
    ReportQueries,
    TrendCount,
)
from storage.repositories import CustomerRepo, MessageRepo, TicketRepo, format_ticket_number
from storage.retention import RetentionKind, RetentionRepo, Window
from storage.staff_models import MessagePair, TicketEvent, TicketEventKind
from storage.staff_repos import StaffRepo
from storage.types import UTCDateTime, utcnow

__all__ = [
    "ERASED",
    "FORGOTTEN_ID_BASE",
    "PERSONAL_TABLES",
    "TICKET_COLUMNS",
    "AudienceMember",
    "BackupError",
    "Campaign",
    "CampaignCount",
    "CampaignRepo",
    "CampaignStatus",
    "CareTask",
    "CareTaskRepo",
    "CareTaskStatus",
    "ClaimedDelivery",
    "CommentRow",
    "ContentType",
    "CopyError",
    "CopyReport",
    "Customer",
    "CustomerRepo",
    "Database",
    "Delivery",
    "DeliveryRepo",
    "DeliveryResult",
    "DeliveryStatus",
    "DeliveryTally",
    "DigestLedger",
    "Direction",
    "DumpCommand",
    "ForgetCounts",
    "LeaderTerm",
    "LeaderTermRepo",
    "MacroKind",
    "MacroOutcome",
    "MacroRepo",
    "MacroUsage",
    "MacroUse",
    "MessageLog",
    "MessagePair",
    "MessageRepo",
    "PostgresLeaderLock",
    "Priority",
    "PrivacyRepo",
    "ProcessedUpdate",
    "ProfileRepo",
    "ReportDigest",
    "ReportQueries",
    "RetentionKind",
    "RetentionRepo",
    "Session",
    "StaffRepo",
    "Ticket",
    "TicketCounter",
    "TicketEvent",
    "TicketEventKind",
    "TicketKind",
    "TicketRepo",
    "TicketStatus",
    "Tier",
    "TierInput",
    "TopicCleanup",
    "TrendCount",
    "UTCDateTime",
    "UpdateLedgerRepo",
    "Window",
    "copy_database",
    "format_ticket_number",
    "inspect_pg_dump",
    "inspect_sqlite",
    "pg_dump_command",
    "pg_restore_command",
    "run_command",
    "sqlite_backup",
    "sqlite_in_use",
    "sqlite_restore",
    "utcnow",
]
