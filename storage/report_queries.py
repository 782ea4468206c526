"""Aggregate queries for manager reports: counts grouped in SQL, ticket timings as plain rows.

Every method takes a half-open period ``[since, until)`` (aware datetimes) and an optional
tier (the customer's effective tier: the manual override, else the computed one) and returns
plain numbers, tuples and dicts - never ORM objects - so a report over 100,000 tickets costs a
handful of grouped scans and one column-wise pass, not 100,000 loaded rows. Timestamps that
the caller does arithmetic on come back as whole Unix seconds, computed in SQL (``unixepoch``
or ``strftime`` on SQLite, ``EXTRACT(EPOCH ...)`` on PostgreSQL), so no per-row datetime
parsing happens in Python. Customers are joined only when a tier filter or a per-tier
figure needs them: every ticket has its customer (a foreign key; customers are redacted,
never deleted), and the join was a large share of each query's time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from storage.care_models import Campaign, CareTask, CareTaskStatus, Delivery, DeliveryStatus
from storage.models import ContentType, Customer, Direction, MessageLog, Ticket, TicketKind
from storage.report_models import ReportDigest
from storage.staff_models import TicketEvent, TicketEventKind

__all__ = [
    "TICKET_COLUMNS",
    "CampaignCount",
    "CommentRow",
    "DigestLedger",
    "ReportQueries",
    "TrendCount",
]

_CUSTOMERS: Any = Customer.__table__  # type: ignore[attr-defined]
_MESSAGES: Any = MessageLog.__table__  # type: ignore[attr-defined]
_TICKETS: Any = Ticket.__table__  # type: ignore[attr-defined]
_EVENTS: Any = TicketEvent.__table__  # type: ignore[attr-defined]
_CAMPAIGNS: Any = Campaign.__table__  # type: ignore[attr-defined]
_DELIVERIES: Any = Delivery.__table__  # type: ignore[attr-defined]
_TASKS: Any = CareTask.__table__  # type: ignore[attr-defined]

#: Between the intents of one ticket in `ReportQueries.complaint_intent_sets` (never in an id).
_SET_SEPARATOR = "\x1f"

#: The customer's effective tier, as ``Customer.effective_tier`` computes it.
_TIER = func.coalesce(_CUSTOMERS.c.tier_override, _CUSTOMERS.c.tier)


class _Epoch(FunctionElement[int]):
    """Whole Unix seconds of a datetime column (NULL stays NULL)."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch"


@compiles(_Epoch, "sqlite")
def _epoch_sqlite(element: _Epoch, compiler: Any, **kw: Any) -> str:
    # Datetimes are stored as naive UTC text ("2026-11-01 12:00:00.000000"), see types.py.
    column = compiler.process(element.clauses, **kw)
    # unixepoch() (SQLite 3.38+) gives the same whole seconds as strftime('%s') at about
    # half the cost, and the report's ticket pass computes five per ticket.
    if (compiler.dialect.server_version_info or (0,)) >= (3, 38):
        return f"unixepoch({column})"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


@compiles(_Epoch, "postgresql")
def _epoch_postgresql(element: _Epoch, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def _epoch(column: Any) -> ColumnElement[int]:
    return _Epoch(column)


class _PlusSeconds(FunctionElement[datetime]):
    """A datetime column plus a whole number of seconds, comparable with the column itself
    (so an index on it stays usable)."""

    inherit_cache = False

    def __init__(self, column: Any, seconds: int) -> None:
        super().__init__(column)
        self.seconds = int(seconds)
        self.type = column.type


@compiles(_PlusSeconds, "sqlite")
def _plus_seconds_sqlite(element: _PlusSeconds, compiler: Any, **kw: Any) -> str:
    # The stored text format ("YYYY-MM-DD HH:MM:SS.ffffff") compares as the instant does.
    column = compiler.process(element.clauses, **kw)
    return f"strftime('%Y-%m-%d %H:%M:%f000', {column}, '+{element.seconds} seconds')"


@compiles(_PlusSeconds, "postgresql")
def _plus_seconds_postgresql(element: _PlusSeconds, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"({column} + interval '{element.seconds} seconds')"


class _Bucket(FunctionElement[int]):
    """``(epoch(column) + offset) DIV size`` with both integers inlined: GROUP BY must repeat
    the select's expression exactly (PostgreSQL rejects ``$1`` vs ``$3``)."""

    type = BigInteger()
    inherit_cache = False

    def __init__(self, column: Any, offset: int, size: int) -> None:
        super().__init__(_Epoch(column))
        self.offset, self.size = int(offset), int(size)


@compiles(_Bucket)
def _bucket_sql(element: _Bucket, compiler: Any, **kw: Any) -> str:
    # Integer / integer is integer division on SQLite and PostgreSQL alike; our epochs are
    # positive and offsets keep them so, so truncation is flooring.
    epoch = compiler.process(element.clauses, **kw)
    return f"(({epoch} + ({element.offset})) / {element.size})"


def _bucket(column: Any, offset_seconds: int, bucket_seconds: int) -> ColumnElement[int]:
    """Integer bucket number of a timestamp: ``(epoch + offset) // size``."""
    return _Bucket(column, offset_seconds, bucket_seconds)


#: The columns of `ReportQueries.ticket_rows`, in order: clocks as Unix seconds (None = not
#: yet), ``complaint`` and ``breach_event`` (the SLA watcher recorded a breach) 1 or 0.
TICKET_COLUMNS = (
    "complaint",
    "assignee_id",
    "created",
    "first_response_due",
    "resolution_due",
    "first_responded",
    "resolved",
    "csat_score",
    "breach_event",
)


@dataclass(frozen=True, slots=True)
class CommentRow:
    """A CSAT comment with its score."""

    number: str
    tier: str
    score: int
    comment: str
    resolved: int


@dataclass(frozen=True, slots=True)
class CampaignCount:
    """Ledger rows of one campaign x tier x outcome bucket."""

    campaign_id: int
    name: str
    occasion: str
    status: str
    tier: str
    outcome: str
    count: int


@dataclass(frozen=True, slots=True)
class TrendCount:
    """One bucket of a trend series: its number and the values counted in it."""

    bucket: int
    values: tuple[float, ...]


class ReportQueries:
    """Read-only aggregates over one session (reports never write)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _tier_filter(tier: str | None) -> list[ColumnElement[bool]]:
        return [] if tier is None else [_TIER.in_([tier])]

    @staticmethod
    def _inbound(since: datetime, until: datetime) -> list[ColumnElement[bool]]:
        """Messages a customer wrote in the period (button presses are not messages)."""
        return [
            _MESSAGES.c.direction == Direction.IN.value,
            _MESSAGES.c.content_type != ContentType.CALLBACK.value,
            _MESSAGES.c.created_at >= since,
            _MESSAGES.c.created_at < until,
        ]

    @staticmethod
    def _messages(tier: str | None) -> Any:
        """The message log, joined to customers only when a tier filter needs them."""
        if tier is None:
            return _MESSAGES
        return _MESSAGES.join(_CUSTOMERS, _CUSTOMERS.c.id == _MESSAGES.c.customer_id)

    async def _rows(self, stmt: Any) -> list[Any]:
        return list((await self.session.execute(stmt)).all())

    async def _plain_rows(self, stmt: Any) -> list[tuple[Any, ...]]:
        """``stmt``'s rows as plain tuples, straight from the driver's cursor: for 100,000
        rows SQLAlchemy's Row objects cost more than the query. Only for columns that need
        no result processing (plain numbers)."""
        result = await self.session.execute(stmt)
        if not isinstance(result, CursorResult):  # pragma: no cover - a Core select is one
            return [tuple(row) for row in result.all()]
        try:
            rows = list(result.cursor.fetchall())
        finally:
            result.close()
        # SQLite's driver gives tuples already; asyncpg gives its Record objects.
        return rows if not rows or type(rows[0]) is tuple else [tuple(row) for row in rows]

    # -- volume -------------------------------------------------------------------------

    async def inbound_by_intent(
        self, since: datetime, until: datetime, tier: str | None
    ) -> list[tuple[str | None, int, int]]:
        """``(intent, messages, of them classified)``: classified = the matcher ran (a score
        was recorded), whether or not it found an intent."""
        # One grouping key, the classified ones counted beside: SQLite sorts every message
        # of the period for a GROUP BY, and a shorter key sorts faster.
        stmt = (
            select(_MESSAGES.c.intent, func.count(), func.count(_MESSAGES.c.score))
            .select_from(self._messages(tier))
            .where(*self._inbound(since, until), *self._tier_filter(tier))
            .group_by(_MESSAGES.c.intent)
        )
        return [(r[0], int(r[1]), int(r[2])) for r in await self._rows(stmt)]

    async def writers_by_tier(
        self, since: datetime, until: datetime, tier: str | None
    ) -> dict[str, int]:
        """Customers who wrote in the period, per effective tier (each customer has one tier,
        so the values add up to the total). Each customer is looked up once in the
        (customer_id, created_at) index, stopping at their first message of the period, instead
        of every message of the period being scanned and its writer collected."""
        wrote = (
            exists()
            .where(_MESSAGES.c.customer_id == _CUSTOMERS.c.id)
            .where(*self._inbound(since, until))
        )
        stmt = select(_TIER, func.count()).where(wrote, *self._tier_filter(tier)).group_by(_TIER)
        return {str(r[0]): int(r[1]) for r in await self._rows(stmt)}

    # -- complaints ---------------------------------------------------------------------

    @staticmethod
    def _with_customers(source: Any, customer_id: Any, needed: bool) -> Any:
        """``source`` joined to the customers of ``customer_id`` when ``needed`` (a tier filter
        or a per-tier figure), else ``source`` alone."""
        return source.join(_CUSTOMERS, _CUSTOMERS.c.id == customer_id) if needed else source

    def _tickets_in(
        self,
        column: Any,
        since: datetime,
        until: datetime,
        tier: str | None,
        *,
        by_tier: bool = False,
    ) -> tuple[Any, list[ColumnElement[bool]]]:
        """Tickets (joined to their customers when ``tier`` or ``by_tier`` needs them), and
        the filter: ``column`` in the period."""
        source = self._with_customers(_TICKETS, _TICKETS.c.customer_id, by_tier or tier is not None)
        return source, [column >= since, column < until, *self._tier_filter(tier)]

    def _opened(
        self, since: datetime, until: datetime, tier: str | None, *, by_tier: bool = False
    ) -> Any:
        return self._tickets_in(_TICKETS.c.created_at, since, until, tier, by_tier=by_tier)

    def _complaint_ids(self, since: datetime, until: datetime, tier: str | None) -> Any:
        """The ids of the complaint tickets opened in the period."""
        source, where = self._opened(since, until, tier)
        return (
            select(_TICKETS.c.id)
            .select_from(source)
            .where(*where, _TICKETS.c.kind == TicketKind.COMPLAINT.value)
        )

    async def complaints_by_tier(
        self, since: datetime, until: datetime, tier: str | None
    ) -> dict[str, int]:
        """Complaint tickets opened in the period, per customer tier."""
        source, where = self._opened(since, until, tier, by_tier=True)
        stmt = (
            select(_TIER, func.count())
            .select_from(source)
            .where(*where, _TICKETS.c.kind == TicketKind.COMPLAINT.value)
            .group_by(_TIER)
        )
        return {str(r[0]): int(r[1]) for r in await self._rows(stmt)}

    async def complaint_intent_sets(
        self, since: datetime, until: datetime, tier: str | None
    ) -> list[tuple[frozenset[str], int]]:
        """``(intents, complaint tickets)``: complaint tickets opened in the period, grouped by
        the set of intents their customer messages matched (tickets whose messages matched
        none are left out). Both the tickets per intent and the tickets matching any of some
        intents follow from these few sets: one pass over the complaints' messages, not two."""
        # Driven by the complaints' ids (the ticket_id index), not by a scan of the log.
        pairs = (
            select(_MESSAGES.c.ticket_id, _MESSAGES.c.intent)
            .where(
                _MESSAGES.c.ticket_id.in_(self._complaint_ids(since, until, tier)),
                _MESSAGES.c.direction == Direction.IN.value,
                _MESSAGES.c.intent.is_not(None),
            )
            .distinct()
            .subquery()
        )
        per_ticket = (
            select(func.aggregate_strings(pairs.c.intent, _SET_SEPARATOR).label("intents"))
            .group_by(pairs.c.ticket_id)
            .subquery()
        )
        stmt = select(per_ticket.c.intents, func.count()).group_by(per_ticket.c.intents)
        # The order inside a set is the database's: equal sets may come in several spellings.
        sets: Counter[frozenset[str]] = Counter()
        for intents, count in await self._rows(stmt):
            sets[frozenset(str(intents).split(_SET_SEPARATOR))] += int(count)
        return list(sets.items())

    # -- tickets ------------------------------------------------------------------------

    async def ticket_rows(
        self, since: datetime, until: datetime, tier: str | None
    ) -> list[tuple[int | None, ...]]:
        """Every ticket opened in the period with its clocks: one plain tuple per ticket,
        `TICKET_COLUMNS` in order."""
        source, where = self._opened(since, until, tier)
        breach = (
            exists()
            .where(_EVENTS.c.ticket_id == _TICKETS.c.id)
            .where(_EVENTS.c.kind == TicketEventKind.SLA_BREACH.value)
        )
        stmt = (
            select(
                # Numbers only: no enum or string object per row (the report's hot loop).
                case((_TICKETS.c.kind == TicketKind.COMPLAINT.value, 1), else_=0),
                _TICKETS.c.assignee_id,
                _epoch(_TICKETS.c.created_at),
                _epoch(_TICKETS.c.first_response_due),
                _epoch(_TICKETS.c.resolution_due),
                _epoch(_TICKETS.c.first_responded_at),
                _epoch(_TICKETS.c.resolved_at),
                _TICKETS.c.csat_score,
                case((breach, 1), else_=0),
            )
            .select_from(source)
            .where(*where)
        )
        return await self._plain_rows(stmt)

    async def reopened_count(self, since: datetime, until: datetime, tier: str | None) -> int:
        """Distinct tickets reopened in the period (the audit trail's ``reopen`` events)."""
        source = (
            _EVENTS.join(_TICKETS, _TICKETS.c.id == _EVENTS.c.ticket_id).join(
                _CUSTOMERS, _CUSTOMERS.c.id == _TICKETS.c.customer_id
            )
            if tier is not None
            else _EVENTS
        )
        stmt = (
            select(func.count(distinct(_EVENTS.c.ticket_id)))
            .select_from(source)
            .where(
                _EVENTS.c.kind == TicketEventKind.REOPEN.value,
                _EVENTS.c.created_at >= since,
                _EVENTS.c.created_at < until,
                *self._tier_filter(tier),
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def staff_names(self) -> dict[int, str]:
        """The latest name each staff member acted under (the audit trail keeps them)."""
        latest = (
            select(_EVENTS.c.actor_id, func.max(_EVENTS.c.id).label("last_id"))
            .where(_EVENTS.c.actor_id.is_not(None), _EVENTS.c.actor_name.is_not(None))
            .group_by(_EVENTS.c.actor_id)
            .subquery()
        )
        stmt = select(_EVENTS.c.actor_id, _EVENTS.c.actor_name).join(
            latest, latest.c.last_id == _EVENTS.c.id
        )
        return {int(r[0]): str(r[1]) for r in await self._rows(stmt)}

    # -- satisfaction -------------------------------------------------------------------

    def _resolved_in(
        self, since: datetime, until: datetime, tier: str | None, *, by_tier: bool = False
    ) -> Any:
        return self._tickets_in(_TICKETS.c.resolved_at, since, until, tier, by_tier=by_tier)

    @staticmethod
    def _has_comment() -> list[ColumnElement[bool]]:
        return [
            _TICKETS.c.csat_score.is_not(None),
            _TICKETS.c.csat_comment.is_not(None),
            _TICKETS.c.csat_comment != "",
        ]

    async def csat_by_tier(
        self, since: datetime, until: datetime, tier: str | None
    ) -> list[tuple[str, int | None, int, int]]:
        """``(tier, score or None = not rated, tickets, of them with a comment)`` over
        tickets resolved in the period."""
        source, where = self._resolved_in(since, until, tier, by_tier=True)
        commented = func.count(case((and_(*self._has_comment()), 1)))
        stmt = (
            select(_TIER, _TICKETS.c.csat_score, func.count(), commented)
            .select_from(source)
            .where(*where)
            .group_by(_TIER, _TICKETS.c.csat_score)
        )
        return [
            (str(r[0]), None if r[1] is None else int(r[1]), int(r[2]), int(r[3]))
            for r in await self._rows(stmt)
        ]

    async def csat_comments(
        self, since: datetime, until: datetime, tier: str | None, limit: int
    ) -> list[CommentRow]:
        """The newest ``limit`` CSAT comments on tickets resolved in the period (how many
        there are in all: `csat_by_tier`)."""
        source, where = self._resolved_in(since, until, tier, by_tier=True)
        has_comment = self._has_comment()
        stmt = (
            select(
                _TICKETS.c.number,
                _TIER,
                _TICKETS.c.csat_score,
                _TICKETS.c.csat_comment,
                _epoch(_TICKETS.c.resolved_at),
            )
            .select_from(source)
            .where(*where, *has_comment)
            .order_by(_TICKETS.c.resolved_at.desc(), _TICKETS.c.id.desc())
            .limit(limit)
        )
        return [
            CommentRow(str(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4]))
            for r in await self._rows(stmt)
        ]

    # -- trends -------------------------------------------------------------------------

    async def writers_trend(
        self, since: datetime, until: datetime, tier: str | None, offset: int, size: int
    ) -> list[TrendCount]:
        """Per bucket: customers who wrote."""
        bucket = _bucket(_MESSAGES.c.created_at, offset, size)
        stmt = (
            select(bucket, func.count(distinct(_MESSAGES.c.customer_id)))
            .select_from(self._messages(tier))
            .where(*self._inbound(since, until), *self._tier_filter(tier))
            .group_by(bucket)
        )
        return [TrendCount(int(r[0]), (float(r[1]),)) for r in await self._rows(stmt)]

    async def csat_trend(
        self, since: datetime, until: datetime, tier: str | None, offset: int, size: int
    ) -> list[TrendCount]:
        """Per bucket of resolution time: (rated tickets, sum of scores)."""
        source, where = self._resolved_in(since, until, tier)
        bucket = _bucket(_TICKETS.c.resolved_at, offset, size)
        stmt = (
            select(bucket, func.count(), func.sum(_TICKETS.c.csat_score))
            .select_from(source)
            .where(*where, _TICKETS.c.csat_score.is_not(None))
            .group_by(bucket)
        )
        return [
            TrendCount(int(r[0]), (float(r[1]), float(r[2] or 0))) for r in await self._rows(stmt)
        ]

    # -- loyalty ------------------------------------------------------------------------

    async def repeat_contacts(
        self, since: datetime, until: datetime, tier: str | None, window_seconds: int
    ) -> tuple[int, int]:
        """``(customers with a ticket resolved in the period, those of them who wrote again
        within window_seconds of such a resolution)``. Writing again: an inbound message
        (not a button press) that does not belong to the resolved ticket itself - a CSAT
        comment is an answer to our question, not a return."""
        source, where = self._resolved_in(since, until, tier)
        later = _MESSAGES.alias("later")
        returned = (
            exists()
            .where(later.c.customer_id == _TICKETS.c.customer_id)
            .where(later.c.direction == Direction.IN.value)
            .where(later.c.content_type != ContentType.CALLBACK.value)
            .where(later.c.created_at > _TICKETS.c.resolved_at)
            .where(later.c.created_at <= _PlusSeconds(_TICKETS.c.resolved_at, window_seconds))
            .where(or_(later.c.ticket_id.is_(None), later.c.ticket_id != _TICKETS.c.id))
        )
        stmt = (
            select(
                func.count(distinct(_TICKETS.c.customer_id)),
                func.count(distinct(case((returned, _TICKETS.c.customer_id)))),
            )
            .select_from(source)
            .where(*where)
        )
        row = (await self.session.execute(stmt)).one()
        return int(row[0]), int(row[1])

    async def customer_states(self, tier: str | None) -> tuple[int, int, int]:
        """``(customers, opted out of some greeting now, blocked the bot now)``."""
        opted = and_(_CUSTOMERS.c.opt_outs.is_not(None), _CUSTOMERS.c.opt_outs != "[]")
        stmt = select(
            func.count(),
            func.count(case((opted, 1))),
            func.count(case((_CUSTOMERS.c.blocked.is_(True), 1))),
        ).where(*self._tier_filter(tier))
        row = (await self.session.execute(stmt)).one()
        return int(row[0]), int(row[1]), int(row[2])

    async def opted_out_in_period(
        self, since: datetime, until: datetime, tier: str | None
    ) -> tuple[int, int]:
        """``(customers offered a greeting in the period, of whom now opted out)``: greeted =
        a ledger row of a campaign that reached a final outcome in the period."""
        opted = and_(_CUSTOMERS.c.opt_outs.is_not(None), _CUSTOMERS.c.opt_outs != "[]")
        stmt = (
            select(
                func.count(distinct(_DELIVERIES.c.customer_id)),
                func.count(distinct(case((opted, _DELIVERIES.c.customer_id)))),
            )
            .select_from(_DELIVERIES.join(_CUSTOMERS, _CUSTOMERS.c.id == _DELIVERIES.c.customer_id))
            .where(
                _DELIVERIES.c.status == DeliveryStatus.SENT.value,
                _DELIVERIES.c.updated_at >= since,
                _DELIVERIES.c.updated_at < until,
                *([] if tier is None else [_DELIVERIES.c.tier == tier]),
            )
        )
        row = (await self.session.execute(stmt)).one()
        return int(row[0]), int(row[1])

    async def blocked_in_period(self, since: datetime, until: datetime, tier: str | None) -> int:
        """Customers found to have blocked the bot in the period: a greeting refused with 403
        or a staff reply that could not be delivered."""
        needed = tier is not None
        by_delivery = (
            select(_DELIVERIES.c.customer_id.label("customer_id"))
            .select_from(self._with_customers(_DELIVERIES, _DELIVERIES.c.customer_id, needed))
            .where(
                _DELIVERIES.c.status == DeliveryStatus.BLOCKED.value,
                _DELIVERIES.c.updated_at >= since,
                _DELIVERIES.c.updated_at < until,
                *self._tier_filter(tier),
            )
        )
        by_event = (
            select(_TICKETS.c.customer_id.label("customer_id"))
            .select_from(
                self._with_customers(
                    _EVENTS.join(_TICKETS, _TICKETS.c.id == _EVENTS.c.ticket_id),
                    _TICKETS.c.customer_id,
                    needed,
                )
            )
            .where(
                _EVENTS.c.kind == TicketEventKind.CUSTOMER_BLOCKED.value,
                _EVENTS.c.created_at >= since,
                _EVENTS.c.created_at < until,
                *self._tier_filter(tier),
            )
        )
        both = by_delivery.union(by_event).subquery()
        return int(
            (await self.session.execute(select(func.count()).select_from(both))).scalar_one()
        )

    # -- campaigns ----------------------------------------------------------------------

    async def campaign_counts(
        self, since: datetime, until: datetime, tier: str | None
    ) -> list[CampaignCount]:
        """Ledger rows per campaign x tier x outcome for campaigns whose send window overlaps
        the period. Outcomes: sent, failed, blocked, opted_out, skipped, pending; the extra
        outcome ``deferred`` counts rows ever put off by quiet hours (they also have one of
        the others)."""
        skipped = DeliveryStatus.SKIPPED.value
        error = _DELIVERIES.c.error
        outcome = case(
            (_DELIVERIES.c.status == DeliveryStatus.BLOCKED.value, literal("blocked")),
            (
                and_(_DELIVERIES.c.status == skipped, error == "skipped: customer blocked bot"),
                literal("blocked"),
            ),
            (
                and_(_DELIVERIES.c.status == skipped, error == "skipped: opted out"),
                literal("opted_out"),
            ),
            (_DELIVERIES.c.status == skipped, literal("skipped")),
            (_DELIVERIES.c.status == DeliveryStatus.SENT.value, literal("sent")),
            (_DELIVERIES.c.status == DeliveryStatus.FAILED.value, literal("failed")),
            else_=literal("pending"),
        )
        window = [
            _CAMPAIGNS.c.window_start < until,
            _CAMPAIGNS.c.window_end >= since,
            *([] if tier is None else [_DELIVERIES.c.tier == tier]),
        ]
        source = _DELIVERIES.join(_CAMPAIGNS, _CAMPAIGNS.c.id == _DELIVERIES.c.campaign_id)
        head = (
            _CAMPAIGNS.c.id,
            _CAMPAIGNS.c.name,
            _CAMPAIGNS.c.occasion,
            _CAMPAIGNS.c.status,
            _DELIVERIES.c.tier,
        )
        by_outcome = (
            select(*head, outcome, func.count())
            .select_from(source)
            .where(*window)
            .group_by(*head, outcome)
        )
        deferred = (
            select(*head, literal("deferred"), func.count())
            .select_from(source)
            .where(*window, _DELIVERIES.c.not_before.is_not(None))
            .group_by(*head)
        )
        rows = [*await self._rows(by_outcome), *await self._rows(deferred)]
        return [
            CampaignCount(
                int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), int(r[6])
            )
            for r in rows
        ]

    async def call_tasks(
        self, since: datetime, until: datetime, tier: str | None
    ) -> tuple[int, int]:
        """Personal-call tasks: ``(created in the period, done in the period)``."""
        source = self._with_customers(_TASKS, _TASKS.c.customer_id, tier is not None)
        calls = [_TASKS.c.kind == "personal_call", *self._tier_filter(tier)]
        stmt = (
            select(
                func.count(
                    case((and_(_TASKS.c.created_at >= since, _TASKS.c.created_at < until), 1))
                ),
                func.count(
                    case(
                        (
                            and_(
                                _TASKS.c.status == CareTaskStatus.DONE.value,
                                _TASKS.c.done_at >= since,
                                _TASKS.c.done_at < until,
                            ),
                            1,
                        )
                    )
                ),
            )
            .select_from(source)
            .where(*calls)
        )
        row = (await self.session.execute(stmt)).one()
        return int(row[0]), int(row[1])


class DigestLedger:
    """The weekly digests already sent; the one write reports make."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, week: str, now: datetime) -> bool:
        """Record ``week``'s digest as sent; False when it already was (by anyone)."""
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table: Any = ReportDigest.__table__  # type: ignore[attr-defined]
        stmt = (
            insert(table)
            .values(week=week, sent_at=now)
            .on_conflict_do_nothing(index_elements=["week"])
            .returning(table.c.week)
        )
        return (await self.session.execute(stmt)).first() is not None
