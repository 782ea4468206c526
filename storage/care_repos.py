"""Repositories for care greetings: customer profiles (bulk import, tiers, audiences),
campaigns, the delivery ledger and care tasks.

Like the other repositories they flush but never commit. The ledger methods work in batches
with plain row tuples rather than ORM objects: a campaign may address 100,000 customers, and
per-row ORM round trips would cost more than the Telegram calls themselves.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, extract, func, or_, update
from sqlalchemy import select as sa_select  # sqlmodel's select types at most 4 columns
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from storage.care_models import (
    Campaign,
    CampaignStatus,
    CareTask,
    CareTaskStatus,
    Delivery,
    DeliveryStatus,
    DeliveryTally,
)
from storage.models import Customer, Tier
from storage.repositories import _upsert_insert
from storage.types import utcnow

__all__ = [
    "AudienceMember",
    "CampaignRepo",
    "CareTaskRepo",
    "ClaimedDelivery",
    "DeliveryRepo",
    "DeliveryResult",
    "ProfileRepo",
    "TierInput",
]

# SQLite allows 32766 bound parameters per statement; stay well below with many columns.
_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True, slots=True)
class TierInput:
    """What tier rules look at for one customer."""

    customer_id: int
    telegram_id: int
    total_spend: float
    visits: int
    referrals: int
    tier: Tier
    tier_override: Tier | None


@dataclass(frozen=True, slots=True)
class AudienceMember:
    """A potential recipient, with the facts that decide whether and what to send."""

    customer_id: int
    telegram_id: int
    tier: Tier
    language: str
    blocked: bool
    opt_outs: frozenset[str]


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A ledger row claimed for sending, with what rendering needs."""

    id: int
    customer_id: int
    chat_id: int
    tier: Tier
    attempts: int
    language: str
    surname: str | None
    title: str | None
    first_name: str
    timezone: str | None
    blocked: bool
    opt_outs: frozenset[str]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one claimed row; ``status`` pending means deferred or retried later."""

    id: int
    status: DeliveryStatus
    error: str | None = None
    telegram_message_id: int | None = None
    script_id: str | None = None
    script_version: str | None = None
    not_before: datetime | None = None
    sent_at: datetime | None = None
    #: The row's attempt count to store (None: keep what the claim wrote).
    attempts: int | None = None


_CUSTOMERS: Any = Customer.__table__  # type: ignore[attr-defined]  # Core: executemany upserts


class ProfileRepo:
    """Customer profiles as the CRM sees them: bulk upsert, export, tiers, audiences."""

    # Columns an import may set (telegram_id is the key).
    IMPORTABLE = (
        "first_name",
        "last_name",
        "username",
        "language",
        "surname",
        "title",
        "tier_override",
        "timezone",
        "birthday",
        "total_spend",
        "visits",
        "referrals",
        "last_contact_at",
    )

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def existing_telegram_ids(self, telegram_ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for chunk in _chunks(telegram_ids):
            rows = await self.session.scalars(
                select(Customer.telegram_id).where(col(Customer.telegram_id).in_(chunk))
            )
            found.update(rows.all())
        return found

    async def bulk_upsert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert or update customers by ``telegram_id``; only the given columns change.

        Rows are grouped by the set of columns they carry; each group is one
        ``INSERT ... ON CONFLICT DO UPDATE`` statement executed for all its rows
        (executemany: compiled once, not once per chunk of literal VALUES).
        """
        now = utcnow()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            values = {key: row[key] for key in ("telegram_id", *self.IMPORTABLE) if key in row}
            values["created_at"] = values["updated_at"] = now
            groups.setdefault(tuple(sorted(values)), []).append(values)
        for keys, group in groups.items():
            stmt = _upsert_insert(self.session, _CUSTOMERS)
            updates = {
                key: stmt.excluded[key] for key in keys if key not in ("telegram_id", "created_at")
            }
            upsert = stmt.on_conflict_do_update(index_elements=["telegram_id"], set_=updates)
            for chunk in _chunks(group, _CHUNK * 4):
                await self.session.execute(upsert, chunk)

    async def all(self) -> builtins.list[Customer]:
        rows = await self.session.scalars(select(Customer).order_by(col(Customer.telegram_id)))
        return builtins.list(rows.all())

    async def page(self, after: int, limit: int) -> builtins.list[Customer]:
        """Up to `limit` customers with a Telegram id above `after`, in id order (keyset
        pagination: an export of any size holds one page at a time)."""
        rows = await self.session.scalars(
            select(Customer)
            .where(col(Customer.telegram_id) > after)
            .order_by(col(Customer.telegram_id))
            .limit(limit)
        )
        return builtins.list(rows.all())

    async def tier_inputs(self) -> builtins.list[TierInput]:
        result = await self.session.execute(
            sa_select(
                col(Customer.id),
                col(Customer.telegram_id),
                col(Customer.total_spend),
                col(Customer.visits),
                col(Customer.referrals),
                col(Customer.tier),
                col(Customer.tier_override),
            )
            .where(col(Customer.banned).is_(False))
            .where(col(Customer.forgotten_at).is_(None))
        )
        return [
            TierInput(
                int(r[0] or 0),
                int(r[1]),
                float(r[2]),
                int(r[3]),
                int(r[4]),
                Tier(r[5]),
                Tier(r[6]) if r[6] else None,
            )
            for r in result.all()
        ]

    async def set_tiers(self, tiers: Mapping[int, Tier]) -> None:
        """Store computed tiers by customer id (overrides are separate and untouched)."""
        now = utcnow()
        params = [{"id": cid, "tier": tier, "updated_at": now} for cid, tier in tiers.items()]
        for chunk in _chunks(params):
            await self.session.execute(update(Customer), builtins.list(chunk))

    async def set_tier_override(self, telegram_id: int, tier: Tier | None) -> bool:
        result = await self.session.execute(
            update(Customer)
            .where(col(Customer.telegram_id) == telegram_id)
            .values(tier_override=tier, updated_at=utcnow())
        )
        return bool(getattr(result, "rowcount", 0))

    async def longest_names(
        self, language: str, tier: Tier, limit: int = 20
    ) -> builtins.list[tuple[str | None, str | None, str | None]]:
        """(surname, title, first_name) of the `tier` customers of `language` with the
        longest names: what a greeting must still fit with (banned and forgotten aside)."""
        effective = func.coalesce(col(Customer.tier_override), col(Customer.tier))
        size = (
            func.length(func.coalesce(col(Customer.surname), ""))
            + func.length(func.coalesce(col(Customer.title), ""))
            + func.length(func.coalesce(col(Customer.first_name), ""))
        )
        stmt = (
            sa_select(col(Customer.surname), col(Customer.title), col(Customer.first_name))
            .where(
                col(Customer.language) == language,
                effective == Tier(tier).value,
                col(Customer.banned).is_(False),
                col(Customer.forgotten_at).is_(None),
            )
            .order_by(size.desc(), col(Customer.id))
            .limit(limit)
        )
        result = await self.session.execute(stmt)
        return [(r[0], r[1], r[2]) for r in result]

    async def audience(
        self,
        *,
        tiers: Sequence[Tier] | None = None,
        languages: Sequence[str] | None = None,
        birthday: date | None = None,
        telegram_ids: Sequence[int] | None = None,
    ) -> builtins.list[AudienceMember]:
        """Candidates for a campaign, by effective tier; banned and forgotten customers never
        appear.

        ``birthday`` selects customers born on that month and day (29 February birthdays are
        greeted on 28 February in common years).
        """
        effective = func.coalesce(col(Customer.tier_override), col(Customer.tier))
        stmt = sa_select(
            col(Customer.id),
            col(Customer.telegram_id),
            effective,
            col(Customer.language),
            col(Customer.blocked),
            col(Customer.opt_outs),
        ).where(col(Customer.banned).is_(False), col(Customer.forgotten_at).is_(None))
        if tiers:
            stmt = stmt.where(effective.in_([Tier(t).value for t in tiers]))
        if languages:
            stmt = stmt.where(col(Customer.language).in_(builtins.list(languages)))
        if telegram_ids:
            stmt = stmt.where(col(Customer.telegram_id).in_(builtins.list(telegram_ids)))
        if birthday is not None:
            month = extract("month", col(Customer.birthday))
            day = extract("day", col(Customer.birthday))
            same_day = and_(month == birthday.month, day == birthday.day)
            if birthday.month == 2 and birthday.day == 28 and not _is_leap(birthday.year):
                same_day = or_(same_day, and_(month == 2, day == 29))
            stmt = stmt.where(same_day)
        result = await self.session.execute(stmt.order_by(col(Customer.id)))
        return [
            AudienceMember(
                int(r[0] or 0),
                int(r[1]),
                Tier(r[2]),
                str(r[3]),
                bool(r[4]),
                frozenset(str(x) for x in json.loads(r[5] or "[]")),
            )
            for r in result.all()
        ]

    async def set_opt_out(
        self, telegram_id: int, categories: Iterable[str], opted_out: bool
    ) -> bool:
        """Add (or remove) opt-out categories; False when the customer is unknown."""
        customer = (
            await self.session.scalars(
                select(Customer).where(col(Customer.telegram_id) == telegram_id)
            )
        ).one_or_none()
        if customer is None:
            return False
        for category in categories:
            if opted_out:
                customer.add_opt_out(category)
            else:
                customer.remove_opt_out(category)
        customer.updated_at = utcnow()
        await self.session.flush()
        return True

    async def mark_blocked(self, customer_ids: Sequence[int]) -> None:
        for chunk in _chunks(customer_ids):
            await self.session.execute(
                update(Customer)
                .where(col(Customer.id).in_(builtins.list(chunk)))
                .values(blocked=True, updated_at=utcnow())
            )


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


class CampaignRepo:
    """Campaign rows."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, campaign: Campaign) -> Campaign:
        self.session.add(campaign)
        await self.session.flush()
        return campaign

    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id, populate_existing=True)

    async def get_by_key(self, key: str) -> Campaign | None:
        rows = await self.session.scalars(select(Campaign).where(col(Campaign.key) == key))
        return rows.one_or_none()

    async def list(
        self, statuses: Sequence[CampaignStatus] | None = None, limit: int = 50
    ) -> builtins.list[Campaign]:
        stmt = select(Campaign)
        if statuses:
            stmt = stmt.where(col(Campaign.status).in_(builtins.list(statuses)))
        rows = await self.session.scalars(stmt.order_by(col(Campaign.id).desc()).limit(limit))
        return builtins.list(rows.all())

    async def save(self, campaign: Campaign, now: datetime | None = None) -> None:
        campaign.updated_at = now or utcnow()
        self.session.add(campaign)
        await self.session.flush()


class DeliveryRepo:
    """The delivery ledger."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def materialize(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ledger rows; a row that exists already is left exactly as it is."""
        now = utcnow()
        for chunk in _chunks(rows, 200):
            values = [
                {
                    **row,
                    "created_at": now,
                    "updated_at": now,
                    "attempts": 0,
                    "status": DeliveryStatus(row.get("status", "pending")),
                }
                for row in chunk
            ]
            stmt = _upsert_insert(self.session, Delivery).values(values)
            await self.session.execute(
                stmt.on_conflict_do_nothing(index_elements=["campaign_id", "customer_id"])
            )

    async def count_rows(self, campaign_id: int) -> int:
        result = await self.session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(col(Delivery.campaign_id) == campaign_id)
        )
        return int(result or 0)

    async def recover_sending(self, campaign_id: int, error: str, now: datetime) -> int:
        """Rows caught in ``sending`` by a crash -> ``failed`` with ``error``; returns how many."""
        result = await self.session.execute(
            update(Delivery)
            .where(col(Delivery.campaign_id) == campaign_id)
            .where(col(Delivery.status) == DeliveryStatus.SENDING)
            .values(status=DeliveryStatus.FAILED, error=error, updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def claim(
        self, campaign_id: int, now: datetime, limit: int
    ) -> builtins.list[ClaimedDelivery]:
        """Move up to ``limit`` due pending rows to ``sending`` (attempts + 1), oldest first."""
        due = or_(col(Delivery.not_before).is_(None), col(Delivery.not_before) <= now)
        result = await self.session.execute(
            sa_select(
                col(Delivery.id),
                col(Delivery.customer_id),
                col(Delivery.chat_id),
                col(Delivery.tier),
                col(Delivery.attempts),
                col(Customer.language),
                col(Customer.surname),
                col(Customer.title),
                col(Customer.first_name),
                col(Customer.timezone),
                col(Customer.blocked),
                col(Customer.opt_outs),
            )
            .join(Customer, col(Customer.id) == col(Delivery.customer_id))
            .where(col(Delivery.campaign_id) == campaign_id)
            .where(col(Delivery.status) == DeliveryStatus.PENDING)
            .where(due)
            .order_by(col(Delivery.id))
            .limit(limit)
        )
        claimed = [
            ClaimedDelivery(
                int(r[0] or 0),
                int(r[1]),
                int(r[2]),
                Tier(r[3]),
                int(r[4]) + 1,
                str(r[5]),
                r[6],
                r[7],
                str(r[8] or ""),
                r[9],
                bool(r[10]),
                frozenset(str(x) for x in json.loads(r[11] or "[]")),
            )
            for r in result.all()
        ]
        if claimed:
            ids = [c.id for c in claimed]
            await self.session.execute(
                update(Delivery)
                .where(col(Delivery.id).in_(ids))
                .where(col(Delivery.status) == DeliveryStatus.PENDING)
                .values(
                    status=DeliveryStatus.SENDING, attempts=Delivery.attempts + 1, updated_at=now
                )
            )
        return claimed

    async def record(self, results: Sequence[DeliveryResult], now: datetime) -> None:
        """Write outcomes (one executemany per batch, by primary key)."""
        params = [
            {
                **({"attempts": r.attempts} if r.attempts is not None else {}),
                "id": r.id,
                "status": r.status,
                "error": r.error,
                "telegram_message_id": r.telegram_message_id,
                "script_id": r.script_id,
                "script_version": r.script_version,
                "not_before": r.not_before,
                "sent_at": r.sent_at,
                "updated_at": now,
            }
            for r in results
        ]
        for chunk in _chunks(params):
            await self.session.execute(update(Delivery), builtins.list(chunk))

    async def skip_pending(self, campaign_id: int, reason: str, now: datetime) -> int:
        result = await self.session.execute(
            update(Delivery)
            .where(col(Delivery.campaign_id) == campaign_id)
            .where(col(Delivery.status) == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.SKIPPED, error=reason, updated_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def counts(self, campaign_id: int) -> dict[tuple[Tier, DeliveryStatus], int]:
        """Rows per (tier, status), plus the tallies of rows deleted since (retention, erasure)."""
        result = await self.session.execute(
            select(Delivery.tier, Delivery.status, func.count())
            .where(col(Delivery.campaign_id) == campaign_id)
            .group_by(Delivery.tier, Delivery.status)
        )
        counts = {(Tier(r[0]), DeliveryStatus(r[1])): int(r[2]) for r in result.all()}
        tallies = await self.session.execute(
            select(DeliveryTally.tier, DeliveryTally.status, DeliveryTally.count).where(
                col(DeliveryTally.campaign_id) == campaign_id
            )
        )
        for tier, status, count in tallies.all():
            key = (Tier(tier), DeliveryStatus(status))
            counts[key] = counts.get(key, 0) + int(count)
        return counts

    async def next_due(self, campaign_id: int) -> datetime | None:
        """The earliest ``not_before`` among deferred pending rows (None: none deferred)."""
        result = await self.session.scalar(
            select(func.min(Delivery.not_before))
            .where(col(Delivery.campaign_id) == campaign_id)
            .where(col(Delivery.status) == DeliveryStatus.PENDING)
        )
        return result

    async def rows(self, campaign_id: int) -> builtins.list[Delivery]:
        rows = await self.session.scalars(
            select(Delivery)
            .where(col(Delivery.campaign_id) == campaign_id)
            .order_by(col(Delivery.id))
        )
        return builtins.list(rows.all())


class CareTaskRepo:
    """Staff care tasks."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Create tasks; one per (campaign, customer, kind), so reruns add nothing."""
        now = utcnow()
        for chunk in _chunks(rows, 200):
            values = [
                {"status": CareTaskStatus.OPEN, "created_at": now, "kind": "personal_call", **row}
                for row in chunk
            ]
            stmt = _upsert_insert(self.session, CareTask).values(values)
            await self.session.execute(
                stmt.on_conflict_do_nothing(index_elements=["campaign_id", "customer_id", "kind"])
            )

    async def for_campaign(self, campaign_id: int) -> builtins.list[CareTask]:
        rows = await self.session.scalars(
            select(CareTask)
            .where(col(CareTask.campaign_id) == campaign_id)
            .order_by(col(CareTask.id))
        )
        return builtins.list(rows.all())

    async def unposted(self, campaign_id: int) -> builtins.list[tuple[CareTask, Customer]]:
        result = await self.session.execute(
            select(CareTask, Customer)
            .join(Customer, col(Customer.id) == col(CareTask.customer_id))
            .where(col(CareTask.campaign_id) == campaign_id)
            .where(col(CareTask.staff_message_id).is_(None))
            .order_by(col(CareTask.id))
        )
        return [(row[0], row[1]) for row in result.all()]

    async def set_posted(self, task_id: int, message_id: int) -> None:
        await self.session.execute(
            update(CareTask).where(col(CareTask.id) == task_id).values(staff_message_id=message_id)
        )

    async def complete(self, task_id: int, by: str, now: datetime) -> bool:
        result = await self.session.execute(
            update(CareTask)
            .where(col(CareTask.id) == task_id)
            .where(col(CareTask.status) == CareTaskStatus.OPEN)
            .values(status=CareTaskStatus.DONE, done_at=now, done_by=by)
        )
        return bool(getattr(result, "rowcount", 0))
