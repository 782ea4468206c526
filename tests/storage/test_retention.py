"""Retention on every backend: what goes, what stays, and that counts still add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from care.privacy.config import RetentionSettings
from care.privacy.retention import run_retention
from care.runtime.metrics import Metrics
from storage import (
    ERASED,
    Campaign,
    CampaignStatus,
    ContentType,
    Customer,
    Database,
    Delivery,
    DeliveryRepo,
    DeliveryStatus,
    Direction,
    MessageLog,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketKind,
    TicketStatus,
    Tier,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=800)


async def seed(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        customer = Customer(telegram_id=1, first_name="Liang")
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        tickets = {}
        for name, status, created, closed in (
            ("old_closed", TicketStatus.CLOSED, OLD, OLD + timedelta(days=1)),
            ("new_closed", TicketStatus.CLOSED, NOW, NOW),
            ("old_open", TicketStatus.OPEN, OLD, None),
        ):
            ticket = Ticket(
                number=f"C-{name}", kind=TicketKind.COMPLAINT, status=status,
                customer_id=customer.id, subject=f"{name} subject", created_at=created,
                first_response_due=created, resolution_due=created, closed_at=closed,
                csat_score=4, csat_comment="nice",
            )  # fmt: skip
            session.add(ticket)
            await session.flush()
            assert ticket.id is not None
            tickets[name] = ticket.id
            note = TicketEventKind.NOTE
            session.add(TicketEvent(ticket_id=ticket.id, kind=note, text="n", created_at=created))
        # Written in time order (ids grow with time), as the bot writes them.
        rows = []
        for i in range(300):
            rows.append((OLD + timedelta(minutes=i), None))
        for i in range(20):
            rows.append((OLD + timedelta(hours=6, minutes=i), tickets["old_open"]))
        for i in range(100):
            rows.append((NOW - timedelta(days=10, minutes=-i), None))
        for created, ticket_id in rows:
            session.add(
                MessageLog(
                    customer_id=customer.id, ticket_id=ticket_id, direction=Direction.IN,
                    content_type=ContentType.TEXT, text="hello", created_at=created,
                )
            )  # fmt: skip
        campaign = Campaign(
            name="old", occasion="mid_autumn", window_start=OLD, window_end=OLD,
            status=CampaignStatus.DONE,
        )  # fmt: skip
        running = Campaign(
            name="now", occasion="new_year", window_start=OLD, window_end=NOW,
            status=CampaignStatus.RUNNING,
        )  # fmt: skip
        session.add_all([campaign, running])
        await session.flush()
        assert campaign.id is not None and running.id is not None
        for n in range(30):
            other = Customer(telegram_id=100 + n, first_name="x")
            session.add(other)
            await session.flush()
            assert other.id is not None
            for c, status in ((campaign, DeliveryStatus.SENT if n % 3 else DeliveryStatus.BLOCKED),
                              (running, DeliveryStatus.PENDING)):  # fmt: skip
                session.add(
                    Delivery(
                        campaign_id=c.id, customer_id=other.id, chat_id=100 + n,
                        tier=Tier.REGULAR, status=status, created_at=OLD, updated_at=OLD,
                    )
                )  # fmt: skip
    return {**tickets, "campaign": campaign.id, "running": running.id}


async def test_retention_pass(database: Database) -> None:
    ids = await seed(database)
    async with database.session() as session:
        counts_before = await DeliveryRepo(session).counts(ids["campaign"])
    metrics = Metrics()
    settings = RetentionSettings(batch_rows=40, max_batch_ms=1000)
    report = await run_retention(database, settings, NOW, metrics=metrics)
    # 300 old messages go; the old open ticket's 20 stay; the 100 recent stay.
    assert (report.messages, report.tickets, report.deliveries) == (300, 1, 30)
    assert report.batches > 300 // 40  # several short transactions, not one
    assert metrics.sample("carebot_retention_rows_total", {"kind": "messages"}) == 300
    assert metrics.sample("carebot_retention_max_batch_seconds") == report.max_batch_seconds > 0

    async with database.session() as session:
        remaining = await session.scalar(select(func.count()).select_from(MessageLog))
        assert remaining == 120
        tickets = {t.number: t for t in (await session.scalars(select(Ticket))).all()}
        assert len(tickets) == 3  # every ticket still counts
        old = tickets["C-old_closed"]
        assert (old.subject, old.csat_comment, old.csat_score) == (ERASED, None, 4)
        assert old.redacted_at is not None and tickets["C-new_closed"].redacted_at is None
        assert tickets["C-old_open"].subject == "old_open subject"
        notes = (await session.execute(select(TicketEvent.ticket_id, TicketEvent.text))).all()
        assert {tid: t for tid, t in notes}[ids["old_closed"]] is None
        # Campaign reports add up after the ledger rows went; a running campaign keeps its rows.
        ledger = DeliveryRepo(session)
        assert await ledger.counts(ids["campaign"]) == counts_before
        assert await ledger.count_rows(ids["campaign"]) == 0
        assert await ledger.count_rows(ids["running"]) == 30

    # A second pass finds nothing more.
    again = await run_retention(database, settings, NOW, metrics=metrics)
    assert (again.messages, again.tickets, again.deliveries) == (0, 0, 0)


async def test_zero_days_keeps_everything(database: Database) -> None:
    await seed(database)
    settings = RetentionSettings(messages_days=0, closed_tickets_days=0, deliveries_days=0)
    report = await run_retention(database, settings, NOW)
    assert (report.messages, report.tickets, report.deliveries, report.batches) == (0, 0, 0, 0)
