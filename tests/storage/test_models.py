"""Round trips of every table: aware UTC datetimes, verbatim text, money, enums."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.exc import StatementError
from sqlmodel import select

from storage import (
    ContentType,
    Customer,
    Database,
    Direction,
    MessageLog,
    Priority,
    Ticket,
    TicketCounter,
    TicketKind,
    TicketStatus,
    Tier,
)

SHANGHAI = timezone(timedelta(hours=8))

HOSTILE = [
    "{{ 7*7 }}",
    "{% for x in y %}{{ x.__class__ }}{% endfor %}",
    "'; DROP TABLE customers;--",
    "<b>bold</b> &amp; <script>alert(1)</script>",
    "x" * 4096,
    "长" * 5000,
    "ctl:\x00\x01\x07\x08\x1b[31m\x7f\u200b\u202e",
    "\ue000 sentinel \ue000\ue0000 \\0 \\",
    "emoji 👩‍👩‍👧‍👦 🇨🇳 😀",
    "line1\r\nline2\n\tend",
    "",
    "  spaces kept  ",
]


async def _customer(db: Database, **extra: object) -> int:
    async with db.transaction() as s:
        c = Customer(telegram_id=10_000_000_000, first_name="梁", **extra)
        s.add(c)
        await s.flush()
        assert c.id is not None
        return c.id


async def test_customer_round_trip(database: Database) -> None:
    when = datetime(2026, 11, 22, 20, 30, 15, 123456, tzinfo=SHANGHAI)
    cid = await _customer(
        database,
        last_name="Liang",
        username="liang",
        language="zh-Hant",
        surname="梁",
        title="小姐",
        tier=Tier.GOLD,
        tier_override=Tier.SILVER,
        timezone="Asia/Shanghai",
        birthday=date(1990, 2, 28),
        total_spend=Decimal("12345.67"),
        visits=3,
        referrals=2,
        last_contact_at=when,
        blocked=True,
        banned=False,
    )
    async with database.session() as s:
        c = await s.get(Customer, cid)
        assert c is not None
        assert c.telegram_id == 10_000_000_000  # needs BIGINT
        assert (c.surname, c.title, c.language) == ("梁", "小姐", "zh-Hant")
        assert c.tier is Tier.GOLD and c.tier_override is Tier.SILVER
        assert c.effective_tier is Tier.SILVER
        assert c.birthday == date(1990, 2, 28)
        assert c.total_spend == Decimal("12345.67")
        assert (c.visits, c.referrals, c.blocked, c.banned) == (3, 2, True, False)
        assert c.last_contact_at == when
        assert c.last_contact_at.tzinfo is UTC
        assert c.created_at.tzinfo is UTC and c.updated_at.tzinfo is UTC


async def test_customer_defaults(database: Database) -> None:
    cid = await _customer(database)
    async with database.session() as s:
        c = await s.get(Customer, cid)
        assert c is not None
        assert c.language == "zh-Hans"
        assert c.tier is Tier.REGULAR and c.tier_override is None
        assert c.effective_tier is Tier.REGULAR
        assert c.total_spend == Decimal("0.00")
        assert c.opt_out_categories() == frozenset()


async def test_opt_outs(database: Database) -> None:
    cid = await _customer(database)
    async with database.transaction() as s:
        c = await s.get(Customer, cid)
        assert c is not None
        c.add_opt_out("holiday")
        c.add_opt_out("节日")
        c.add_opt_out("holiday")
    async with database.transaction() as s:
        c = await s.get(Customer, cid)
        assert c is not None
        assert c.opt_out_categories() == {"holiday", "节日"}
        assert c.is_opted_out("holiday") and not c.is_opted_out("birthday")
        c.remove_opt_out("holiday")
        c.add_opt_out("all")
    async with database.session() as s:
        c = await s.get(Customer, cid)
        assert c is not None
        assert c.is_opted_out("birthday")
        assert c.opt_out_categories() == {"all", "节日"}


async def test_ticket_and_message_round_trip(database: Database) -> None:
    cid = await _customer(database)
    now = datetime(2026, 11, 22, 1, 2, 3, tzinfo=UTC)
    async with database.transaction() as s:
        t = Ticket(
            number="C-20261122-0001",
            kind=TicketKind.COMPLAINT,
            status=TicketStatus.WAITING_CUSTOMER,
            priority=Priority.URGENT,
            customer_id=cid,
            subject="太慢了",
            assignee_id=7_000_000_001,
            topic_id=5_000_000_123,
            created_at=now,
            updated_at=now,
            first_response_due=now + timedelta(minutes=30),
            resolution_due=now + timedelta(hours=24),
            first_responded_at=now,
            resolved_at=now,
            closed_at=now,
            csat_score=5,
            csat_comment="很好",
        )
        s.add(t)
        s.add(TicketCounter(day="20261122", last=1))
        await s.flush()
        m = MessageLog(
            customer_id=cid,
            ticket_id=t.id,
            direction=Direction.OUT,
            content_type=ContentType.PHOTO,
            text="hi",
            intent="faq.hours",
            score=87.5,
            script_id="faq.hours",
            script_version="3",
            telegram_message_id=9_000_000_000,
            created_at=now,
        )
        s.add(m)
        await s.flush()
        tid, mid = t.id, m.id
    async with database.session() as s:
        t2 = await s.get(Ticket, tid)
        assert t2 is not None
        assert t2.kind is TicketKind.COMPLAINT and t2.status is TicketStatus.WAITING_CUSTOMER
        assert t2.priority is Priority.URGENT
        assert (t2.assignee_id, t2.topic_id) == (7_000_000_001, 5_000_000_123)
        assert t2.resolution_due == now + timedelta(hours=24)
        for field in ("created_at", "first_response_due", "resolved_at", "closed_at"):
            assert getattr(t2, field).tzinfo is UTC
        assert (t2.csat_score, t2.csat_comment) == (5, "很好")
        m2 = await s.get(MessageLog, mid)
        assert m2 is not None
        assert m2.direction is Direction.OUT and m2.content_type is ContentType.PHOTO
        assert (m2.intent, m2.score, m2.script_id, m2.script_version) == (
            "faq.hours",
            87.5,
            "faq.hours",
            "3",
        )
        assert m2.telegram_message_id == 9_000_000_000
        assert m2.created_at == now
        counter = await s.get(TicketCounter, "20261122")
        assert counter is not None and counter.last == 1


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
async def test_text_stored_verbatim(database: Database, hostile: str) -> None:
    cid = await _customer(database, last_name=hostile)
    async with database.transaction() as s:
        s.add(MessageLog(customer_id=cid, direction="in", content_type="text", text=hostile))
    async with database.session() as s:
        stored = (await s.scalars(select(MessageLog))).one()
        assert stored.text == hostile
        c = await s.get(Customer, cid)
        assert c is not None and c.last_name == hostile
        # Querying by the exact value finds it too (no lossy normalisation on the way in).
        found = await s.scalars(select(MessageLog).where(MessageLog.text == hostile))
        assert found.one().id == stored.id


async def test_naive_datetimes_are_rejected(database: Database) -> None:
    cid = await _customer(database)
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as s:
            c = await s.get(Customer, cid)
            assert c is not None
            c.last_contact_at = datetime(2026, 1, 1, 12, 0)
            await s.flush()


async def test_invalid_enum_value_is_rejected(database: Database) -> None:
    cid = await _customer(database)
    with pytest.raises(StatementError):
        async with database.transaction() as s:
            s.add(MessageLog(customer_id=cid, direction="sideways", content_type="text"))
            await s.flush()


async def test_csat_range_enforced(database: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    cid = await _customer(database)
    now = datetime.now(UTC)
    with pytest.raises(IntegrityError):
        async with database.transaction() as s:
            s.add(
                Ticket(
                    number="C-1",
                    kind="inquiry",
                    customer_id=cid,
                    subject="?",
                    first_response_due=now,
                    resolution_due=now,
                    csat_score=6,
                )
            )
