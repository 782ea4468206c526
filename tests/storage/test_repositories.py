"""Repositories: customer upsert, message log, ticket numbering (sequential and concurrent)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from storage import (
    ContentType,
    Customer,
    CustomerRepo,
    Database,
    Direction,
    MessageRepo,
    Ticket,
    TicketKind,
    TicketRepo,
    TicketStatus,
    Tier,
    format_ticket_number,
)
from tests.progress import finish

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


async def _new_customer(db: Database, telegram_id: int = 42) -> Customer:
    async with db.transaction() as s:
        return await CustomerRepo(s).upsert_from_telegram(telegram_id, "Mei", "Liang", "mei", "en")


async def _ticket(db: Database, customer_id: int, now: datetime = NOW, **kw: object) -> Ticket:
    async with db.transaction() as s:
        return await TicketRepo(s).create(
            customer_id=customer_id,
            kind=TicketKind.COMPLAINT,
            subject="coffee was cold",
            now=now,
            first_response_due=now + timedelta(minutes=30),
            resolution_due=now + timedelta(hours=24),
            **kw,
        )


async def test_upsert_creates_then_updates_names_only(database: Database) -> None:
    created = await _new_customer(database)
    assert created.id is not None
    assert (created.first_name, created.last_name, created.username) == ("Mei", "Liang", "mei")
    assert created.language == "en"
    async with database.transaction() as s:  # the CRM import sets these
        c = await s.get(Customer, created.id)
        assert c is not None
        c.surname, c.title, c.tier = "梁", "小姐", Tier.GOLD
    async with database.transaction() as s:
        repo = CustomerRepo(s)
        again = await repo.upsert_from_telegram(42, "May", None, "may", "zh-Hans")
        assert again.id == created.id
    async with database.session() as s:
        c = await CustomerRepo(s).get_by_telegram_id(42)
        assert c is not None
        assert (c.first_name, c.last_name, c.username) == ("May", None, "may")
        assert (c.surname, c.title, c.tier) == ("梁", "小姐", Tier.GOLD)
        assert c.language == "en"  # the customer's language is not reset by the client's
        assert await CustomerRepo(s).get(created.id) is not None
        assert await CustomerRepo(s).get(999) is None


async def test_upsert_default_language(database: Database) -> None:
    async with database.transaction() as s:
        c = await CustomerRepo(s).upsert_from_telegram(5, "Li")
    assert c.language == "zh-Hans"


async def test_concurrent_upserts_of_one_user(database: Database) -> None:
    async def one() -> int | None:
        async with database.transaction() as s:
            return (await CustomerRepo(s).upsert_from_telegram(77, "Same")).id

    ids = await finish(asyncio.gather(*(one() for _ in range(8))), "concurrent upserts")
    assert len(set(ids)) == 1


async def test_customer_updates(database: Database) -> None:
    c = await _new_customer(database)
    async with database.transaction() as s:
        repo = CustomerRepo(s)
        c2 = await repo.get(c.id)
        assert c2 is not None
        await repo.set_language(c2, "zh-Hant")
        await repo.touch_contact(c2, NOW)
        await repo.mark_blocked(c2)
    async with database.transaction() as s:
        c3 = await CustomerRepo(s).get(c.id)
        assert c3 is not None
        assert (c3.language, c3.last_contact_at, c3.blocked) == ("zh-Hant", NOW, True)
        await CustomerRepo(s).mark_blocked(c3, blocked=False)
    async with database.session() as s:
        c4 = await CustomerRepo(s).get(c.id)
        assert c4 is not None and c4.blocked is False


async def test_message_log_recent_and_ticket(database: Database) -> None:
    c = await _new_customer(database)
    t = await _ticket(database, c.id)
    async with database.transaction() as s:
        repo = MessageRepo(s)
        for i in range(15):
            await repo.log(
                customer_id=c.id,
                direction=Direction.IN if i % 2 == 0 else "out",
                content_type=ContentType.TEXT,
                text=f"m{i}",
                ticket_id=t.id if i >= 12 else None,
                now=NOW + timedelta(seconds=i),
            )
        # Same timestamp: insertion order decides.
        await repo.log(
            customer_id=c.id,
            direction="in",
            content_type="sticker",
            now=NOW + timedelta(seconds=14),
        )
    async with database.session() as s:
        repo = MessageRepo(s)
        recent = await repo.recent(c.id, limit=4)
        assert [m.text for m in recent] == ["m12", "m13", "m14", None]
        assert recent[-1].content_type is ContentType.STICKER
        assert [m.text for m in await repo.for_ticket(t.id)] == ["m12", "m13", "m14"]
        assert await repo.count() == 16
        assert len(await repo.recent(c.id)) == 10
        assert await repo.recent(999) == []


async def test_queued_log_rows_are_written_at_commit_in_order(database: Database) -> None:
    """`add` queues rows (one batched INSERT at the commit); reads see them at once, `log`
    after `add` keeps the recording order, and a rollback drops them."""
    c = await _new_customer(database)
    async with database.transaction() as s:
        repo = MessageRepo(s)
        repo.add(customer_id=c.id, direction="in", content_type="text", text="q", now=NOW)
        repo.add(customer_id=c.id, direction="out", content_type="text", text="a", now=NOW,
                 script_id="faq.hours", script_version="v1")  # fmt: skip
        assert [m.text for m in await repo.recent(c.id)] == ["q", "a"]  # read-your-writes
        repo.add(customer_id=c.id, direction="in", content_type="sticker", now=NOW)
        logged = await repo.log(customer_id=c.id, direction="out", content_type="text",
                                text="b", now=NOW)  # fmt: skip
        assert logged.id is not None
        repo.add(customer_id=c.id, direction="in", content_type="text", text="last", now=NOW)
    with pytest.raises(RuntimeError):
        async with database.transaction() as s:
            MessageRepo(s).add(customer_id=c.id, direction="in", content_type="text", now=NOW)
            raise RuntimeError("handler failed")
    async with database.session() as s:
        recent = await MessageRepo(s).recent(c.id)
    assert [m.text for m in recent] == ["q", "a", None, "b", "last"]
    assert recent[1].script_id == "faq.hours" and recent[2].content_type is ContentType.STICKER
    assert recent[0].direction is Direction.IN and recent[0].created_at == NOW


async def test_queue_refuses_a_foreign_session(database: Database) -> None:
    """A session not made by `Database` would drop queued rows at its commit: refused."""
    from sqlalchemy.ext.asyncio import AsyncSession

    async with AsyncSession(database.engine) as s:
        with pytest.raises(TypeError, match=r"storage\.Database"):
            MessageRepo(s).add(customer_id=1, direction="in", content_type="text")


async def test_log_defaults_now_to_aware_utc(database: Database) -> None:
    c = await _new_customer(database)
    async with database.transaction() as s:
        m = await MessageRepo(s).log(customer_id=c.id, direction="out", content_type="text")
    assert m.created_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - m.created_at) < timedelta(minutes=1)


async def test_ticket_numbers_sequential_per_day(database: Database) -> None:
    c = await _new_customer(database)
    numbers = [(await _ticket(database, c.id)).number for _ in range(3)]
    assert numbers == ["C-20261122-0001", "C-20261122-0002", "C-20261122-0003"]
    tomorrow = NOW + timedelta(days=1)
    assert (await _ticket(database, c.id, now=tomorrow)).number == "C-20261123-0001"
    # The caller's business day wins over now's UTC date (e.g. 01:00 in Shanghai).
    t = await _ticket(database, c.id, now=NOW, day=date(2026, 11, 23))
    assert t.number == "C-20261123-0002"
    assert (await _ticket(database, c.id)).number == "C-20261122-0004"


def test_format_ticket_number() -> None:
    assert format_ticket_number(date(2026, 1, 2), 7) == "C-20260102-0007"
    assert format_ticket_number(date(2026, 1, 2), 12345) == "C-20260102-12345"


async def test_concurrent_ticket_creation_gives_unique_numbers(make_database) -> None:
    db = await make_database()
    c = await _new_customer(db)

    numbers = await finish(
        asyncio.gather(*(_ticket(db, c.id) for _ in range(20))), "concurrent ticket numbers"
    )
    got = sorted(t.number for t in numbers)
    assert got == [f"C-20261122-{i:04d}" for i in range(1, 21)]


async def test_ticket_queries_and_status(database: Database) -> None:
    c = await _new_customer(database)
    other = await _new_customer(database, telegram_id=43)
    t1 = await _ticket(database, c.id)
    t2 = await _ticket(database, c.id, now=NOW + timedelta(minutes=5), priority="high")
    async with database.transaction() as s:
        repo = TicketRepo(s)
        assert (await repo.get(t1.id)).number == t1.number
        assert (await repo.get_by_number(t2.number)).id == t2.id
        assert await repo.get_by_number("C-nope") is None
        assert (await repo.open_for_customer(c.id)).id == t2.id
        assert await repo.open_for_customer(other.id) is None
        t2x = await repo.get(t2.id)
        assert t2x.priority == "high" and t2x.status is TicketStatus.NEW
        later = NOW + timedelta(hours=1)
        await repo.record_first_response(t2x, later)
        await repo.record_first_response(t2x, later + timedelta(hours=1))
        await repo.set_status(t2x, TicketStatus.RESOLVED, later)
        await repo.set_csat(t2x, 4, "ok", later)
    async with database.transaction() as s:
        repo = TicketRepo(s)
        t2y = await repo.get(t2.id)
        assert t2y.first_responded_at == NOW + timedelta(hours=1)
        assert t2y.resolved_at == NOW + timedelta(hours=1) and t2y.status is TicketStatus.RESOLVED
        assert (t2y.csat_score, t2y.csat_comment) == (4, "ok")
        assert (await repo.open_for_customer(c.id)).id == t1.id
        assert [t.id for t in await repo.list()] == [t2.id, t1.id]
        assert [t.id for t in await repo.list(status="resolved")] == [t2.id]
        assert [t.id for t in await repo.list(status=TicketStatus.NEW, limit=1)] == [t1.id]
        await repo.set_status(t2y, "closed", NOW + timedelta(hours=2))
        assert t2y.closed_at == NOW + timedelta(hours=2)
        await repo.set_status(t2y, TicketStatus.OPEN, NOW + timedelta(hours=3))
        assert t2y.resolved_at is None and t2y.closed_at is None
        assert t2y.updated_at == NOW + timedelta(hours=3)
