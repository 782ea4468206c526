"""Staff-takeover repository: message pairs, the ticket audit trail, topics, bans, SLA scans.

Like every repository it flushes but never commits: the caller's unit of work does.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.models import Customer, Direction, Priority, Ticket, TicketStatus
from storage.staff_models import MessagePair, TicketEvent, TicketEventKind

__all__ = ["StaffRepo"]

_FINISHED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class StaffRepo:
    """Everything the staff forum needs to remember beyond the ticket row itself."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- message pairs ------------------------------------------------------------------

    async def add_pair(
        self,
        *,
        ticket_id: int,
        direction: Direction | str,
        customer_chat_id: int,
        customer_message_id: int,
        staff_chat_id: int,
        staff_message_id: int,
        now: datetime,
        merged: bool = False,
    ) -> MessagePair:
        pair = MessagePair(
            ticket_id=ticket_id,
            direction=Direction(direction),
            customer_chat_id=customer_chat_id,
            customer_message_id=customer_message_id,
            staff_chat_id=staff_chat_id,
            staff_message_id=staff_message_id,
            merged=merged,
            created_at=now,
        )
        self.session.add(pair)
        await self.session.flush()
        return pair

    async def pair_by_customer_message(self, chat_id: int, message_id: int) -> MessagePair | None:
        """The newest pair whose customer-side message is ``message_id`` in ``chat_id``."""
        return await self._newest_pair(
            MessagePair.customer_chat_id, chat_id, MessagePair.customer_message_id, message_id
        )

    async def pair_by_staff_message(self, chat_id: int, message_id: int) -> MessagePair | None:
        """The newest pair whose topic-side message is ``message_id`` in ``chat_id``."""
        return await self._newest_pair(
            MessagePair.staff_chat_id, chat_id, MessagePair.staff_message_id, message_id
        )

    async def _newest_pair(
        self, chat_column: int, chat_id: int, message_column: int, message_id: int
    ) -> MessagePair | None:
        result = await self.session.scalars(
            select(MessagePair)
            .where(col(chat_column) == chat_id)
            .where(col(message_column) == message_id)
            .order_by(col(MessagePair.id).desc())
            .limit(1)
        )
        return result.first()

    async def pairs_for_ticket(self, ticket_id: int) -> builtins.list[MessagePair]:
        result = await self.session.scalars(
            select(MessagePair)
            .where(col(MessagePair.ticket_id) == ticket_id)
            .order_by(col(MessagePair.id))
        )
        return builtins.list(result.all())

    # -- audit trail --------------------------------------------------------------------

    async def add_event(
        self,
        ticket_id: int,
        kind: TicketEventKind | str,
        now: datetime,
        *,
        actor_id: int | None = None,
        actor_name: str | None = None,
        text: str | None = None,
    ) -> TicketEvent:
        event = TicketEvent(
            ticket_id=ticket_id,
            kind=TicketEventKind(kind),
            actor_id=actor_id,
            actor_name=actor_name,
            text=text,
            created_at=now,
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def events(self, ticket_id: int) -> builtins.list[TicketEvent]:
        result = await self.session.scalars(
            select(TicketEvent)
            .where(col(TicketEvent.ticket_id) == ticket_id)
            .order_by(col(TicketEvent.created_at), col(TicketEvent.id))
        )
        return builtins.list(result.all())

    async def event_keys(
        self, ticket_ids: Iterable[int], kinds: Iterable[TicketEventKind]
    ) -> set[tuple[int, str, str | None]]:
        """``(ticket_id, kind, text)`` of existing events: what the SLA watcher already said."""
        ids = builtins.list(ticket_ids)
        if not ids:
            return set()
        result = await self.session.execute(
            select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.text)
            .where(col(TicketEvent.ticket_id).in_(ids))
            .where(col(TicketEvent.kind).in_(builtins.list(kinds)))
        )
        return {(int(tid), str(kind), text) for tid, kind, text in result.all()}

    # -- tickets ------------------------------------------------------------------------

    async def ticket_by_topic(self, thread_id: int) -> Ticket | None:
        """The ticket whose staff topic is ``thread_id`` (newest if a number was reused)."""
        result = await self.session.scalars(
            select(Ticket)
            .where(col(Ticket.topic_id) == thread_id)
            .order_by(col(Ticket.id).desc())
            .limit(1)
        )
        return result.first()

    async def unfinished(self, limit: int = 1000) -> builtins.list[Ticket]:
        """Tickets whose SLA clocks may still run (neither resolved nor closed), oldest first."""
        result = await self.session.scalars(
            select(Ticket)
            .where(col(Ticket.status).not_in(_FINISHED))
            .order_by(col(Ticket.created_at), col(Ticket.id))
            .limit(limit)
        )
        return builtins.list(result.all())

    async def resolved_before(self, cutoff: datetime, limit: int = 500) -> builtins.list[Ticket]:
        """Tickets resolved at or before `cutoff` and not closed since, longest resolved first."""
        result = await self.session.scalars(
            select(Ticket)
            .where(col(Ticket.status) == TicketStatus.RESOLVED)
            .where(col(Ticket.resolved_at) <= cutoff)
            .order_by(col(Ticket.resolved_at), col(Ticket.id))
            .limit(limit)
        )
        return builtins.list(result.all())

    async def set_topic(
        self, ticket: Ticket, thread_id: int, card_message_id: int | None, now: datetime
    ) -> None:
        ticket.topic_id = thread_id
        ticket.card_message_id = card_message_id
        ticket.updated_at = now
        await self.session.flush()

    async def set_card(self, ticket: Ticket, card_message_id: int, now: datetime) -> None:
        ticket.card_message_id = card_message_id
        ticket.updated_at = now
        await self.session.flush()

    async def assign(self, ticket: Ticket, staff_id: int | None, now: datetime) -> None:
        ticket.assignee_id = staff_id
        ticket.updated_at = now
        await self.session.flush()

    async def set_priority(self, ticket: Ticket, priority: Priority | str, now: datetime) -> None:
        ticket.priority = Priority(priority)
        ticket.updated_at = now
        await self.session.flush()

    # -- customers ----------------------------------------------------------------------

    async def set_banned(self, customer: Customer, banned: bool, now: datetime) -> None:
        customer.banned = banned
        customer.updated_at = now
        await self.session.flush()
