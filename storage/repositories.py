"""Repositories: all SQL lives here. They take an ``AsyncSession``, ``flush()`` but never commit:
the unit of work (one per Telegram update) belongs to the caller."""

from __future__ import annotations

import builtins
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

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
)
from storage.types import utcnow

__all__ = ["CustomerRepo", "MessageRepo", "TicketRepo", "format_ticket_number"]

_FINISHED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


def _upsert_insert(session: AsyncSession, entity: type[Any]) -> Any:
    """The dialect's ``INSERT`` that supports ``ON CONFLICT`` (PostgreSQL and SQLite 3.24+
    share the syntax, but SQLAlchemy exposes it per dialect)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(entity)
    if dialect == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"upsert not implemented for {dialect}")


def format_ticket_number(day: date, seq: int) -> str:
    """``C-YYYYMMDD-NNNN`` (the sequence widens past 9999 rather than wrapping)."""
    return f"C-{day:%Y%m%d}-{seq:04d}"


class CustomerRepo:
    """Customers, keyed by Telegram user id."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, customer_id: int) -> Customer | None:
        return await self.session.get(Customer, customer_id)

    async def get_by_telegram_id(self, telegram_id: int) -> Customer | None:
        result = await self.session.scalars(
            select(Customer).where(col(Customer.telegram_id) == telegram_id)
        )
        return result.one_or_none()

    async def upsert_from_telegram(
        self,
        telegram_id: int,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language: str | None = None,
    ) -> Customer:
        """Create the customer or refresh the names Telegram reports.

        Only Telegram-owned fields are updated; ``surname``, ``title``, ``tier`` and the rest
        come from the CRM import and are never touched. ``language`` is used only when
        creating: afterwards the customer's own choice (``set_language``) wins over the
        client's UI language.
        """
        customer = await self.get_by_telegram_id(telegram_id)
        if customer is None:
            # Two updates from a new user can race; ON CONFLICT DO NOTHING lets the loser
            # fall through to the row the winner created instead of failing on the unique key.
            now = utcnow()
            values: dict[str, Any] = {
                "telegram_id": telegram_id,
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "created_at": now,
                "updated_at": now,
            }
            if language:
                values["language"] = language
            stmt = (
                _upsert_insert(self.session, Customer)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["telegram_id"])
            )
            await self.session.execute(stmt)
            customer = await self.get_by_telegram_id(telegram_id)
            if customer is None:  # pragma: no cover - the row exists after the insert
                raise RuntimeError(f"customer {telegram_id} vanished after insert")
            return customer
        if (customer.first_name, customer.last_name, customer.username) != (
            first_name,
            last_name,
            username,
        ):
            customer.first_name = first_name
            customer.last_name = last_name
            customer.username = username
            customer.updated_at = utcnow()
            await self.session.flush()
        return customer

    async def set_language(self, customer: Customer, language: str) -> None:
        customer.language = language
        customer.updated_at = utcnow()
        await self.session.flush()

    async def touch_contact(self, customer: Customer, now: datetime) -> None:
        """Record that we heard from / talked to the customer at ``now``."""
        customer.last_contact_at = now
        customer.updated_at = now
        await self.session.flush()

    async def mark_blocked(self, customer: Customer, blocked: bool = True) -> None:
        """Whether the customer blocked the bot (Telegram ``Forbidden``)."""
        customer.blocked = blocked
        customer.updated_at = utcnow()
        await self.session.flush()


class MessageRepo:
    """The verbatim message log."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def log(
        self,
        *,
        customer_id: int,
        direction: Direction | str,
        content_type: ContentType | str,
        text: str | None = None,
        intent: str | None = None,
        score: float | None = None,
        script_id: str | None = None,
        script_version: str | None = None,
        telegram_message_id: int | None = None,
        ticket_id: int | None = None,
        now: datetime | None = None,
    ) -> MessageLog:
        message = MessageLog(
            customer_id=customer_id,
            ticket_id=ticket_id,
            direction=Direction(direction),
            content_type=ContentType(content_type),
            text=text,
            intent=intent,
            score=score,
            script_id=script_id,
            script_version=script_version,
            telegram_message_id=telegram_message_id,
            created_at=now or utcnow(),
        )
        self.session.add(message)
        await self.session.flush()
        return message

    async def recent(self, customer_id: int, limit: int = 10) -> list[MessageLog]:
        """The customer's last ``limit`` messages, oldest first (ready to show as history)."""
        result = await self.session.scalars(
            select(MessageLog)
            .where(col(MessageLog.customer_id) == customer_id)
            .order_by(col(MessageLog.created_at).desc(), col(MessageLog.id).desc())
            .limit(limit)
        )
        return list(reversed(result.all()))

    async def for_ticket(self, ticket_id: int) -> list[MessageLog]:
        """A ticket's messages in order."""
        result = await self.session.scalars(
            select(MessageLog)
            .where(col(MessageLog.ticket_id) == ticket_id)
            .order_by(col(MessageLog.created_at), col(MessageLog.id))
        )
        return list(result.all())

    async def count(self) -> int:
        result = await self.session.scalar(select(func.count()).select_from(MessageLog))
        return int(result or 0)


class TicketRepo:
    """Tickets and their per-day numbering."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _next_seq(self, day: date) -> int:
        """Atomically take the next number of ``day``.

        One upsert statement: concurrent transactions serialise on the counter row (row lock
        on PostgreSQL, the write lock on SQLite) and each gets its own value; the unique
        constraint on ``tickets.number`` is the backstop.
        """
        stmt = _upsert_insert(self.session, TicketCounter).values(day=f"{day:%Y%m%d}", last=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["day"], set_={"last": TicketCounter.last + 1}
        ).returning(TicketCounter.last)
        result = await self.session.execute(stmt)
        return int(result.scalar_one())

    async def create(
        self,
        *,
        customer_id: int,
        kind: TicketKind | str,
        subject: str,
        now: datetime,
        first_response_due: datetime,
        resolution_due: datetime,
        priority: Priority | str = Priority.NORMAL,
        day: date | None = None,
    ) -> Ticket:
        """Open a ticket numbered ``C-YYYYMMDD-NNNN``.

        ``day`` is the business day in the business time zone, which the caller knows;
        it defaults to ``now``'s UTC date.
        """
        day = day or now.astimezone(UTC).date()
        seq = await self._next_seq(day)
        ticket = Ticket(
            number=format_ticket_number(day, seq),
            kind=TicketKind(kind),
            status=TicketStatus.NEW,
            priority=Priority(priority),
            customer_id=customer_id,
            subject=subject,
            created_at=now,
            updated_at=now,
            first_response_due=first_response_due,
            resolution_due=resolution_due,
        )
        self.session.add(ticket)
        await self.session.flush()
        return ticket

    async def get(self, ticket_id: int) -> Ticket | None:
        return await self.session.get(Ticket, ticket_id)

    async def get_by_number(self, number: str) -> Ticket | None:
        result = await self.session.scalars(select(Ticket).where(col(Ticket.number) == number))
        return result.one_or_none()

    async def list(
        self, status: TicketStatus | str | None = None, limit: int = 100
    ) -> builtins.list[Ticket]:
        """Newest first, optionally only one status."""
        stmt = select(Ticket)
        if status is not None:
            stmt = stmt.where(col(Ticket.status) == TicketStatus(status))
        stmt = stmt.order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc()).limit(limit)
        result = await self.session.scalars(stmt)
        return builtins.list(result.all())

    async def open_for_customer(self, customer_id: int) -> Ticket | None:
        """The customer's latest ticket that is neither resolved nor closed."""
        result = await self.session.scalars(
            select(Ticket)
            .where(col(Ticket.customer_id) == customer_id)
            .where(col(Ticket.status).not_in(_FINISHED))
            .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
            .limit(1)
        )
        return result.first()

    async def set_status(self, ticket: Ticket, status: TicketStatus | str, now: datetime) -> None:
        """Move the ticket; stamps ``resolved_at``/``closed_at`` the first time, and clears
        them when the ticket is reopened so the SLA clock reflects the live case."""
        new = TicketStatus(status)
        ticket.status = new
        ticket.updated_at = now
        if new is TicketStatus.RESOLVED:
            ticket.resolved_at = ticket.resolved_at or now
        elif new is TicketStatus.CLOSED:
            ticket.closed_at = ticket.closed_at or now
        else:
            ticket.resolved_at = None
            ticket.closed_at = None
        await self.session.flush()

    async def record_first_response(self, ticket: Ticket, now: datetime) -> None:
        """Stamp the first staff response (only the first one counts for the SLA)."""
        if ticket.first_responded_at is None:
            ticket.first_responded_at = now
            ticket.updated_at = now
            await self.session.flush()

    async def set_csat(
        self, ticket: Ticket, score: int, comment: str | None, now: datetime
    ) -> None:
        """Record the customer's 1-5 satisfaction rating."""
        if not 1 <= score <= 5:
            raise ValueError(f"CSAT score must be 1..5, got {score}")
        ticket.csat_score = score
        ticket.csat_comment = comment
        ticket.updated_at = now
        await self.session.flush()
