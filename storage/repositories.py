"""Repositories: all SQL lives here. They take an ``AsyncSession``, ``flush()`` but never commit:
the unit of work (one per Telegram update) belongs to the caller."""

from __future__ import annotations

import builtins
import functools
from datetime import UTC, date, datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import bindparam, case, func, or_
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
from storage.queued import queue_insert
from storage.types import utcnow

__all__ = ["CustomerRepo", "MessageRepo", "TicketRepo", "format_ticket_number"]

_FINISHED = (TicketStatus.RESOLVED, TicketStatus.CLOSED)
_MESSAGE_LOGS: Any = MessageLog.__table__  # type: ignore[attr-defined]


class MessageFields(TypedDict, total=False):
    """The keyword arguments of `MessageRepo.add` / `MessageRepo.log`."""

    customer_id: Required[int]
    direction: Required[Direction | str]
    content_type: Required[ContentType | str]
    text: str | None
    intent: str | None
    score: float | None
    script_id: str | None
    script_version: str | None
    telegram_message_id: int | None
    ticket_id: int | None
    now: datetime | None


def _message_row(fields: MessageFields) -> dict[str, Any]:
    """One ``message_logs`` row with every column set (a batched INSERT needs equal keys)."""
    return {
        "customer_id": fields["customer_id"],
        "ticket_id": fields.get("ticket_id"),
        "direction": Direction(fields["direction"]),
        "content_type": ContentType(fields["content_type"]),
        "text": fields.get("text"),
        "intent": fields.get("intent"),
        "score": fields.get("score"),
        "script_id": fields.get("script_id"),
        "script_version": fields.get("script_version"),
        "telegram_message_id": fields.get("telegram_message_id"),
        "created_at": fields.get("now") or utcnow(),
    }


def _upsert_insert(session: AsyncSession, entity: type[Any]) -> Any:
    """The dialect's ``INSERT`` that supports ``ON CONFLICT`` (PostgreSQL and SQLite 3.24+
    share the syntax, but SQLAlchemy exposes it per dialect)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(entity)
    if dialect == "sqlite":
        return sqlite.insert(entity)
    raise NotImplementedError(f"upsert not implemented for {dialect}")


@functools.lru_cache(maxsize=32)
def _customer_upsert(dialect: str, *, with_language: bool, written: bool, contact: bool) -> Any:
    """The customer upsert for one combination of options, built once per process.

    Built from bind parameters and reused: constructing this statement costs about as much
    as executing it (SQLAlchemy expression building in Python), and it runs once per update.
    """
    values: dict[str, Any] = {
        name: bindparam(name)
        for name in (
            "telegram_id",
            "first_name",
            "last_name",
            "username",
            "created_at",
            "updated_at",
            "last_contact_at",
        )
    }
    if with_language:
        values["language"] = bindparam("language")
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"upsert not implemented for {dialect}")
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Customer).values(**values)
    new = stmt.excluded
    set_: dict[str, Any] = {
        "first_name": new.first_name,
        "last_name": new.last_name,
        "username": new.username,
    }
    changed = or_(
        col(Customer.first_name).is_distinct_from(new.first_name),
        col(Customer.last_name).is_distinct_from(new.last_name),
        col(Customer.username).is_distinct_from(new.username),
    )
    if written:
        set_["language"] = new.language
        changed = or_(changed, col(Customer.language).is_distinct_from(new.language))
    if contact:
        set_["last_contact_at"] = new.last_contact_at
        set_["updated_at"] = new.updated_at
    else:
        # Without a contact stamp, updated_at moves only when something changed.
        set_["updated_at"] = case((changed, new.updated_at), else_=col(Customer.updated_at))
    return stmt.on_conflict_do_update(index_elements=["telegram_id"], set_=set_).returning(Customer)


@functools.lru_cache(maxsize=1)
def _open_ticket_query() -> Any:
    """The customer's latest unfinished ticket (``:customer_id``), built once per process
    (it runs on every customer message; building it costs more than running it)."""
    return (
        select(Ticket)
        .where(col(Ticket.customer_id) == bindparam("customer_id"))
        .where(col(Ticket.status).not_in(_FINISHED))
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(1)
    )


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
        *,
        written_language: str | None = None,
        contact_at: datetime | None = None,
    ) -> Customer:
        """Create the customer or refresh the names Telegram reports, in one statement.

        Only Telegram-owned fields are updated; ``surname``, ``title``, ``tier`` and the rest
        come from the CRM import and are never touched. ``language`` is used only when
        creating: afterwards the customer's own choice (``set_language``) wins over the
        client's UI language. ``written_language`` is the language the customer just wrote
        in (when the text says): it replaces the stored one, and ``language`` for a new row.
        ``contact_at`` also stamps ``last_contact_at`` (and ``updated_at``), like
        ``touch_contact``.

        One ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` instead of select, insert,
        re-select and updates: every customer message starts here, and on SQLite each
        statement is several thread hops (aiosqlite). It is also race-free: two updates
        from a new user both land on the one row.
        """
        now = utcnow()
        params: dict[str, Any] = {
            "telegram_id": telegram_id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "created_at": now,
            "updated_at": contact_at or now,
            "last_contact_at": contact_at,
        }
        if written_language or language:
            params["language"] = written_language or language
        stmt = _customer_upsert(
            self.session.get_bind().dialect.name,
            with_language="language" in params,
            written=bool(written_language),
            contact=contact_at is not None,
        )
        # populate_existing: a Customer already in this session's identity map is refreshed
        # from the returned row instead of shadowing it.
        result = await self.session.scalars(
            stmt, params, execution_options={"populate_existing": True}
        )
        customer: Customer = result.one()
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

    def add(self, **fields: Unpack[MessageFields]) -> None:
        """Queue a log row without a round trip: it is written at the commit, batched with
        the transaction's other queued rows into one ``INSERT``, or before the session's next
        statement (see `storage.queued`). Use `log` when you need the row back."""
        queue_insert(self.session, _MESSAGE_LOGS, _message_row(fields))

    async def log(self, **fields: Unpack[MessageFields]) -> MessageLog:
        """Insert the row now and return it (with its ``id``); rows queued earlier by `add`
        are written first (by the flush), so ids keep the order of recording."""
        message = MessageLog(**_message_row(fields))
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
        result = await self.session.scalars(_open_ticket_query(), {"customer_id": customer_id})
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
