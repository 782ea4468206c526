"""Retention in bounded batches: old messages deleted, old closed tickets redacted, old
campaign deliveries folded into counts and deleted.

Every method does ONE bounded piece of work in the caller's transaction, so the caller can
commit after each and never hold SQLite's write lock (or PostgreSQL row locks) for long:

* messages go by primary-key window (``id`` in ``[lo, lo + size)``), which is an index range
  scan whatever the table's size; rows of unfinished tickets are kept, whatever their age.
  Rows are written as they happen, so ids grow with ``created_at``: the pass stops at the
  first window that holds only newer rows.
* tickets closed before the cutoff are redacted (`storage.privacy.redact_tickets`) a few
  hundred at a time; the ticket rows stay for the reports.
* deliveries of finished campaigns older than the cutoff are folded into `DeliveryTally`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, literal, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.care_models import Campaign, CampaignStatus, Delivery
from storage.models import MessageLog, Ticket, TicketStatus
from storage.privacy import fold_deliveries, redact_tickets

__all__ = ["MessageWindow", "RetentionRepo"]

_UNFINISHED = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING_CUSTOMER)
_FINISHED_CAMPAIGNS = (CampaignStatus.DONE, CampaignStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class MessageWindow:
    """The outcome of one message window: rows deleted, and whether newer rows were seen."""

    deleted: int
    newer_seen: bool


class RetentionRepo:
    """The bounded steps of one retention pass (see the module docstring)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self) -> None:
        """Start the transaction now (on SQLite: ``BEGIN IMMEDIATE``, the write lock), so the
        caller can time how long the lock is held rather than how long it waited for it."""
        await self.session.execute(select(literal(1)))

    async def message_id_range(self) -> tuple[int, int] | None:
        """The smallest and largest message id (None for an empty table)."""
        row = (
            await self.session.execute(select(func.min(MessageLog.id), func.max(MessageLog.id)))
        ).one()
        low, high = row
        return None if low is None or high is None else (int(low), int(high))

    async def delete_messages(self, lo: int, hi: int, cutoff: datetime) -> MessageWindow:
        """Delete messages with ``lo <= id < hi`` written before ``cutoff`` (unless their
        ticket is still open)."""
        in_window = (col(MessageLog.id) >= lo, col(MessageLog.id) < hi)
        open_ticket = select(Ticket.id).where(col(Ticket.status).in_(_UNFINISHED))
        result = await self.session.execute(
            delete(MessageLog)
            .where(*in_window, col(MessageLog.created_at) < cutoff)
            .where(
                or_(
                    col(MessageLog.ticket_id).is_(None),
                    col(MessageLog.ticket_id).not_in(open_ticket),
                )
            )
        )
        newer = await self.session.scalar(
            select(exists().where(*in_window, col(MessageLog.created_at) >= cutoff))
        )
        return MessageWindow(int(getattr(result, "rowcount", 0) or 0), bool(newer))

    async def redact_closed_tickets(self, cutoff: datetime, limit: int, now: datetime) -> int:
        """Redact up to ``limit`` tickets closed before ``cutoff``; returns how many."""
        ids = (
            await self.session.scalars(
                select(Ticket.id)
                .where(col(Ticket.status) == TicketStatus.CLOSED)
                .where(col(Ticket.closed_at) < cutoff, col(Ticket.redacted_at).is_(None))
                .order_by(col(Ticket.closed_at))
                .limit(limit)
            )
        ).all()
        await redact_tickets(self.session, [int(i) for i in ids if i is not None], now)
        return len(ids)

    async def purge_deliveries(self, cutoff: datetime, limit: int) -> int:
        """Fold up to ``limit`` deliveries of finished campaigns created before ``cutoff``."""
        finished = select(Campaign.id).where(col(Campaign.status).in_(_FINISHED_CAMPAIGNS))
        ids = (
            await self.session.scalars(
                select(Delivery.id)
                .where(col(Delivery.created_at) < cutoff)
                .where(col(Delivery.campaign_id).in_(finished))
                .order_by(col(Delivery.id))
                .limit(limit)
            )
        ).all()
        return await fold_deliveries(self.session, [int(i) for i in ids if i is not None])
