"""Retention in bounded batches: old messages deleted, old closed tickets redacted, old
campaign deliveries folded into counts and deleted.

Every method does ONE bounded piece of work in the caller's transaction, so the caller can
commit after each and never hold SQLite's write lock (or PostgreSQL row locks) for long:

Every step works on one primary-key window (``id`` in ``[lo, lo + size)``): an index range
scan, bounded whatever the table's size, so no step ever scans a whole table under the lock.

* messages older than the cutoff are deleted; rows of unfinished tickets are kept, whatever
  their age. Rows are written as they happen, so ids grow with ``created_at``: the pass stops
  at the first window that holds only newer rows.
* tickets closed before the cutoff are redacted (`storage.privacy.redact_tickets`); the ticket
  rows stay for the reports. Closing times don't follow ids, so every window is visited.
* deliveries of finished campaigns older than the cutoff are folded into `DeliveryTally`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, exists, func, literal, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.care_models import Campaign, CampaignStatus, Delivery
from storage.models import MessageLog, Ticket, TicketStatus
from storage.privacy import fold_deliveries, redact_tickets

__all__ = ["RetentionKind", "RetentionRepo", "Window"]

#: The tables a retention pass walks, by the name the settings use.
RetentionKind = Literal["messages", "tickets", "deliveries"]

_UNFINISHED = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING_CUSTOMER)
_FINISHED_CAMPAIGNS = (CampaignStatus.DONE, CampaignStatus.CANCELLED)
_TABLES: dict[str, Any] = {"messages": MessageLog, "tickets": Ticket, "deliveries": Delivery}


@dataclass(frozen=True, slots=True)
class Window:
    """The outcome of one id window: rows removed or redacted, and whether rows newer than the
    cutoff were seen in it (for tables whose ids grow with time: the pass can stop there)."""

    done: int
    newer_seen: bool


class RetentionRepo:
    """The bounded steps of one retention pass (see the module docstring)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self) -> None:
        """Start the transaction now (on SQLite: ``BEGIN IMMEDIATE``, the write lock), so the
        caller can time how long the lock is held rather than how long it waited for it."""
        await self.session.execute(select(literal(1)))

    async def id_range(self, kind: RetentionKind) -> tuple[int, int] | None:
        """The smallest and largest id of ``kind``'s table (None when it is empty)."""
        column = col(_TABLES[kind].id)
        low, high = (await self.session.execute(select(func.min(column), func.max(column)))).one()
        return None if low is None or high is None else (int(low), int(high))

    async def delete_messages(self, lo: int, hi: int, cutoff: datetime) -> Window:
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
        return Window(int(getattr(result, "rowcount", 0) or 0), bool(newer))

    async def redact_closed_tickets(
        self, lo: int, hi: int, cutoff: datetime, now: datetime
    ) -> Window:
        """Redact the tickets with ``lo <= id < hi`` closed before ``cutoff``.

        ``newer_seen`` stays False: a ticket closes whenever its case ends, so ticket ids say
        nothing about closing times and every window is looked at.
        """
        ids = (
            await self.session.scalars(
                select(Ticket.id)
                .where(col(Ticket.id) >= lo, col(Ticket.id) < hi)
                .where(col(Ticket.status) == TicketStatus.CLOSED)
                .where(col(Ticket.closed_at) < cutoff, col(Ticket.redacted_at).is_(None))
            )
        ).all()
        await redact_tickets(self.session, [int(i) for i in ids if i is not None], now)
        return Window(len(ids), False)

    async def purge_deliveries(self, lo: int, hi: int, cutoff: datetime) -> Window:
        """Fold the deliveries with ``lo <= id < hi`` of finished campaigns, created before
        ``cutoff`` (ledger rows are written when a campaign is scheduled: ids grow with time)."""
        in_window = (col(Delivery.id) >= lo, col(Delivery.id) < hi)
        finished = select(Campaign.id).where(col(Campaign.status).in_(_FINISHED_CAMPAIGNS))
        ids = (
            await self.session.scalars(
                select(Delivery.id)
                .where(*in_window, col(Delivery.created_at) < cutoff)
                .where(col(Delivery.campaign_id).in_(finished))
            )
        ).all()
        folded = await fold_deliveries(self.session, [int(i) for i in ids if i is not None])
        newer = await self.session.scalar(
            select(exists().where(*in_window, col(Delivery.created_at) >= cutoff))
        )
        return Window(folded, bool(newer))
