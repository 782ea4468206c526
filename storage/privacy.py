"""One customer's personal data: everything held about them, its erasure, and ticket redaction.

* `PrivacyRepo.snapshot` - the access request: every row that names or belongs to the customer
  (profile, tickets with transcripts and audit trails, other messages, campaign deliveries,
  care tasks), as plain JSON-ready data.
* `PrivacyRepo.forget` - the erasure: profile fields cleared, the Telegram id replaced by a
  placeholder, message texts, ticket subjects, CSAT comments and staff notes removed, delivery
  rows and care tasks folded into counts and deleted. Ticket rows stay (kind, status, times,
  scores), so reports and counts still add up. Idempotent; the caller's transaction holds it.
* `redact_tickets` - removing a set of tickets' texts, shared by the erasure and by retention.
* `PrivacyRepo.topics_to_clean` / `topic_cleaned` - redacted tickets whose staff-forum topic
  still exists: the bot deletes the topic (or what copies the Bot API lets it) and says so here.

`PERSONAL_TABLES` lists every table these functions cover; a test keeps it equal to the set of
tables that reference a customer or a ticket, so a new table cannot be forgotten silently.
"""

from __future__ import annotations

import builtins
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import and_, delete, not_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col, select

from storage.care_models import Campaign, CareTask, Delivery, DeliveryStatus, DeliveryTally
from storage.macro_models import MacroUse
from storage.models import Customer, MessageLog, Ticket, TicketStatus
from storage.repositories import _upsert_insert
from storage.staff_models import MessagePair, TicketEvent, TicketEventKind

__all__ = [
    "ERASED",
    "FORGOTTEN_ID_BASE",
    "PERSONAL_TABLES",
    "ForgetCounts",
    "PrivacyRepo",
    "TopicCleanup",
    "fold_deliveries",
    "redact_tickets",
]

#: What replaces a required text column (a ticket's subject) once its content is erased.
ERASED = "[erased]"
#: A forgotten customer's ``telegram_id`` becomes ``FORGOTTEN_ID_BASE - customers.id``: unique,
#: and never a Telegram user id (those are positive), so nobody's chat matches the row again.
FORGOTTEN_ID_BASE = -(10**15)
#: Tables holding rows about one customer (directly or through a ticket).
PERSONAL_TABLES = frozenset(
    {
        "customers",
        "message_logs",
        "tickets",
        "ticket_events",
        "message_pairs",
        "macro_uses",
        "deliveries",
        "care_tasks",
    }
)

_FINISHED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
_SCORES = ("1", "2", "3", "4", "5")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ForgetCounts:
    """What one erasure touched (numbers only: the log line must not carry personal data)."""

    customer_id: int
    tickets: int
    tickets_closed: int
    messages: int
    deliveries: int
    care_tasks: int
    already_forgotten: bool


@dataclass(frozen=True, slots=True)
class TopicCleanup:
    """A redacted ticket whose staff-forum topic still exists."""

    ticket_id: int
    number: str
    topic_id: int
    card_message_id: int | None
    #: ``(staff_chat_id, staff_message_id, created_at)`` of every copy the topic holds.
    copies: tuple[tuple[int, int, datetime], ...]
    #: True when the customer asked to be forgotten (else: retention redacted the ticket).
    forgotten: bool


def _plain(value: Any) -> Any:
    """A column value as JSON-ready data."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(model: SQLModel, skip: Sequence[str] = ()) -> dict[str, Any]:
    table: Any = model.__table__  # type: ignore[attr-defined]
    return {
        column.name: _plain(getattr(model, column.name))
        for column in table.columns
        if column.name not in skip
    }


def _chunks(items: Sequence[int]) -> list[Sequence[int]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def redact_tickets(session: AsyncSession, ticket_ids: Sequence[int], now: datetime) -> int:
    """Remove the texts of ``ticket_ids``: subject, CSAT comment, transcript texts, staff notes
    and CSAT comments in the audit trail. Returns how many message texts went.

    Kept: the ticket row's kind, status, priority, times, SLA stamps and CSAT score, and each
    message's direction, type, intent and script (the statistics).
    """
    messages = 0
    for chunk in _chunks(list(ticket_ids)):
        await session.execute(
            update(Ticket)
            .where(col(Ticket.id).in_(chunk))
            .values(subject=ERASED, csat_comment=None)
        )
        await session.execute(
            update(Ticket)
            .where(col(Ticket.id).in_(chunk), col(Ticket.redacted_at).is_(None))
            .values(redacted_at=now)
        )
        result = await session.execute(
            update(MessageLog)
            .where(col(MessageLog.ticket_id).in_(chunk), col(MessageLog.text).is_not(None))
            .values(text=None)
        )
        messages += _rowcount(result)
        await session.execute(
            update(TicketEvent)
            .where(col(TicketEvent.ticket_id).in_(chunk), col(TicketEvent.text).is_not(None))
            .where(
                or_(
                    col(TicketEvent.kind) == TicketEventKind.NOTE,
                    and_(
                        col(TicketEvent.kind) == TicketEventKind.CSAT,
                        not_(col(TicketEvent.text).in_(_SCORES)),
                    ),
                )
            )
            .values(text=None)
        )
        # values staff typed for a macro (an order number, a date) go with the texts
        await session.execute(
            update(MacroUse)
            .where(col(MacroUse.ticket_id).in_(chunk), col(MacroUse.values_json).is_not(None))
            .values(values_json=None)
        )
    return messages


async def fold_deliveries(session: AsyncSession, delivery_ids: Sequence[int]) -> int:
    """Delete ledger rows, adding them to `DeliveryTally` first so campaign counts stay.

    Rows that were never sent (pending, sending) are counted as skipped: they will not be.
    """
    folded = 0
    for chunk in _chunks(list(delivery_ids)):
        rows = await session.execute(
            select(Delivery.campaign_id, Delivery.tier, Delivery.status).where(
                col(Delivery.id).in_(chunk)
            )
        )
        tally: Counter[tuple[int, str, str]] = Counter()
        for campaign_id, tier, status in rows.all():
            final = DeliveryStatus(status)
            if not final.is_final:
                final = DeliveryStatus.SKIPPED
            tally[(int(campaign_id), str(tier), final.value)] += 1
        for (campaign_id, tier, status), count in sorted(tally.items()):
            stmt = _upsert_insert(session, DeliveryTally).values(
                campaign_id=campaign_id, tier=tier, status=status, count=count
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["campaign_id", "tier", "status"],
                    set_={"count": col(DeliveryTally.count) + count},
                )
            )
        result = await session.execute(delete(Delivery).where(col(Delivery.id).in_(chunk)))
        folded += _rowcount(result)
    return folded


class PrivacyRepo:
    """The access request, the erasure and the staff-topic cleanup queue."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_telegram_id(self, telegram_id: int) -> Customer | None:
        result = await self.session.scalars(
            select(Customer).where(col(Customer.telegram_id) == telegram_id)
        )
        return result.one_or_none()

    async def tickets(self, customer_id: int) -> builtins.list[Ticket]:
        result = await self.session.scalars(
            select(Ticket).where(col(Ticket.customer_id) == customer_id).order_by(col(Ticket.id))
        )
        return builtins.list(result.all())

    async def held_tickets(self, customer_id: int) -> builtins.list[Ticket]:
        """Unfinished tickets a staff member has taken (someone is working on them now)."""
        return [
            t
            for t in await self.tickets(customer_id)
            if t.status not in _FINISHED and t.assignee_id is not None
        ]

    async def snapshot(self, customer: Customer) -> dict[str, Any]:
        """Everything held about ``customer``, as JSON-ready data."""
        assert customer.id is not None
        tickets = []
        for ticket in await self.tickets(customer.id):
            messages = await self.session.scalars(
                select(MessageLog)
                .where(col(MessageLog.ticket_id) == ticket.id)
                .order_by(col(MessageLog.created_at), col(MessageLog.id))
            )
            events = await self.session.scalars(
                select(TicketEvent)
                .where(col(TicketEvent.ticket_id) == ticket.id)
                .order_by(col(TicketEvent.created_at), col(TicketEvent.id))
            )
            pairs = await self.session.scalars(
                select(MessagePair)
                .where(col(MessagePair.ticket_id) == ticket.id)
                .order_by(col(MessagePair.id))
            )
            tickets.append(
                {
                    **_row(ticket),
                    "transcript": [_row(m, ("customer_id", "ticket_id")) for m in messages],
                    "events": [_row(e, ("ticket_id",)) for e in events],
                    "staff_topic_copies": [_row(p, ("ticket_id",)) for p in pairs],
                }
            )
        other = await self.session.scalars(
            select(MessageLog)
            .where(col(MessageLog.customer_id) == customer.id, col(MessageLog.ticket_id).is_(None))
            .order_by(col(MessageLog.created_at), col(MessageLog.id))
        )
        deliveries = await self.session.execute(
            select(Delivery, Campaign.name, Campaign.occasion)
            .join(Campaign, col(Campaign.id) == col(Delivery.campaign_id))
            .where(col(Delivery.customer_id) == customer.id)
            .order_by(col(Delivery.id))
        )
        tasks = await self.session.scalars(
            select(CareTask)
            .where(col(CareTask.customer_id) == customer.id)
            .order_by(col(CareTask.id))
        )
        profile = _row(customer)
        profile["opt_outs"] = json.loads(customer.opt_outs or "[]")
        return {
            "profile": profile,
            "tickets": tickets,
            "messages_outside_tickets": [_row(m, ("customer_id",)) for m in other],
            "deliveries": [
                {**_row(d, ("customer_id",)), "campaign_name": name, "occasion": occasion}
                for d, name, occasion in deliveries.all()
            ],
            "care_tasks": [_row(t, ("customer_id",)) for t in tasks],
        }

    async def forget(self, customer: Customer, now: datetime) -> ForgetCounts:
        """Erase ``customer``'s personal data, keeping anonymous ticket rows (see module doc).

        Open tickets are closed (a case about nobody cannot be worked). Safe to run again.
        """
        assert customer.id is not None
        already = customer.forgotten_at is not None
        tickets = await self.tickets(customer.id)
        closed = 0
        for ticket in tickets:
            if ticket.status not in _FINISHED:
                ticket.status = TicketStatus.CLOSED
                ticket.closed_at = ticket.closed_at or now
                ticket.updated_at = now
                assert ticket.id is not None
                self.session.add(
                    TicketEvent(
                        ticket_id=ticket.id, kind=TicketEventKind.CLOSE, text=None, created_at=now
                    )
                )
                closed += 1
        await self.session.flush()
        ticket_ids = [t.id for t in tickets if t.id is not None]
        messages = await redact_tickets(self.session, ticket_ids, now)
        result = await self.session.execute(
            update(MessageLog)
            .where(col(MessageLog.customer_id) == customer.id, col(MessageLog.text).is_not(None))
            .values(text=None)
        )
        messages += _rowcount(result)
        placeholder = FORGOTTEN_ID_BASE - customer.id
        for chunk in _chunks(ticket_ids):
            await self.session.execute(
                update(MessagePair)
                .where(col(MessagePair.ticket_id).in_(chunk))
                .values(customer_chat_id=placeholder)
            )
        delivery_ids = builtins.list(
            (
                await self.session.scalars(
                    select(Delivery.id).where(col(Delivery.customer_id) == customer.id)
                )
            ).all()
        )
        deliveries = await fold_deliveries(self.session, [int(i) for i in delivery_ids if i])
        result = await self.session.execute(
            delete(CareTask).where(col(CareTask.customer_id) == customer.id)
        )
        care_tasks = _rowcount(result)
        customer.telegram_id = placeholder
        customer.first_name = ""
        customer.last_name = None
        customer.username = None
        customer.surname = None
        customer.title = None
        customer.birthday = None
        customer.timezone = None
        customer.total_spend = Decimal("0.00")
        customer.visits = 0
        customer.referrals = 0
        customer.last_contact_at = None
        customer.tier_override = None
        customer.forgotten_at = customer.forgotten_at or now
        customer.updated_at = now
        await self.session.flush()
        return ForgetCounts(
            customer_id=customer.id,
            tickets=len(tickets),
            tickets_closed=closed,
            messages=messages,
            deliveries=deliveries,
            care_tasks=care_tasks,
            already_forgotten=already,
        )

    async def topics_to_clean(self, limit: int = 50) -> builtins.list[TopicCleanup]:
        """Redacted tickets that still have a staff topic, oldest redaction first."""
        result = await self.session.execute(
            select(Ticket, Customer.forgotten_at)
            .join(Customer, col(Customer.id) == col(Ticket.customer_id))
            .where(col(Ticket.redacted_at).is_not(None), col(Ticket.topic_id).is_not(None))
            .order_by(col(Ticket.redacted_at), col(Ticket.id))
            .limit(limit)
        )
        cleanups = []
        for ticket, forgotten_at in result.all():
            pairs = await self.session.scalars(
                select(MessagePair)
                .where(col(MessagePair.ticket_id) == ticket.id)
                .order_by(col(MessagePair.id))
            )
            cleanups.append(
                TopicCleanup(
                    ticket_id=int(ticket.id),
                    number=ticket.number,
                    topic_id=int(ticket.topic_id),
                    card_message_id=ticket.card_message_id,
                    copies=tuple(
                        (p.staff_chat_id, p.staff_message_id, p.created_at) for p in pairs
                    ),
                    forgotten=forgotten_at is not None,
                )
            )
        return cleanups

    async def topic_cleaned(self, ticket_id: int, now: datetime) -> None:
        """The topic (or what could be deleted of it) is gone: forget the ids that led there."""
        await self.session.execute(
            delete(MessagePair).where(col(MessagePair.ticket_id) == ticket_id)
        )
        await self.session.execute(
            update(Ticket)
            .where(col(Ticket.id) == ticket_id)
            .values(topic_id=None, card_message_id=None, updated_at=now)
        )
