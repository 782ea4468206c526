"""The erasure on every backend: a planted marker is searched in every column of every table."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from storage import (
    ERASED,
    PERSONAL_TABLES,
    Campaign,
    CampaignStatus,
    CareTask,
    ContentType,
    Customer,
    Database,
    Delivery,
    DeliveryRepo,
    DeliveryStatus,
    Direction,
    MessageLog,
    MessagePair,
    PrivacyRepo,
    ProfileRepo,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketKind,
    TicketStatus,
    Tier,
)

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
MARK = "Zq7MARK"
BIRTHDAY = date(1987, 6, 5)


async def plant(db: Database, telegram_id: int, mark: str, birthday: date) -> dict[str, int]:
    """A customer with their marker in every personal column: profile, tickets, transcript,
    notes, CSAT comment, a delivery and a care task. Returns row ids."""
    async with db.transaction() as session:
        customer = Customer(
            telegram_id=telegram_id,
            first_name=f"{mark}-first",
            last_name=f"{mark}-last",
            username=f"{mark}_user",
            surname=f"{mark}梁",
            title=f"{mark}小姐",
            timezone="Asia/Hong_Kong",
            birthday=birthday,
            total_spend=Decimal("1234.50"),
            visits=7,
            referrals=2,
            tier=Tier.GOLD,
            last_contact_at=NOW,
        )
        session.add(customer)
        campaign = Campaign(
            name="mid-autumn", occasion="mid_autumn", window_start=NOW, window_end=NOW,
            status=CampaignStatus.DONE,
        )  # fmt: skip
        session.add(campaign)
        await session.flush()
        assert customer.id is not None and campaign.id is not None
        ids = {"customer": customer.id, "campaign": campaign.id}
        for n, (status, assignee) in enumerate(
            [(TicketStatus.CLOSED, None), (TicketStatus.OPEN, 555)]
        ):
            ticket = Ticket(
                number=f"C-{mark[:2]}-{n}", kind=TicketKind.COMPLAINT, status=status,
                customer_id=customer.id, subject=f"{mark} subject", assignee_id=assignee,
                topic_id=100 + n, card_message_id=200 + n, first_response_due=NOW,
                resolution_due=NOW, created_at=NOW, csat_score=2 if n == 0 else None,
                csat_comment=f"{mark} comment" if n == 0 else None,
                closed_at=NOW if status is TicketStatus.CLOSED else None,
            )  # fmt: skip
            session.add(ticket)
            await session.flush()
            assert ticket.id is not None
            ids[f"ticket{n}"] = ticket.id
            for direction in (Direction.IN, Direction.OUT):
                session.add(
                    MessageLog(
                        customer_id=customer.id, ticket_id=ticket.id, direction=direction,
                        content_type=ContentType.TEXT, text=f"{direction} {mark} text",
                        intent="complaint.late", created_at=NOW,
                    )
                )  # fmt: skip
            session.add(
                MessagePair(
                    ticket_id=ticket.id, direction=Direction.IN, customer_chat_id=telegram_id,
                    customer_message_id=5, staff_chat_id=-100, staff_message_id=300 + n,
                )
            )  # fmt: skip
            for kind, body in (
                (TicketEventKind.NOTE, f"{mark} note"),
                (TicketEventKind.CSAT, "2"),
                (TicketEventKind.CSAT, f"{mark} csat comment"),
                (TicketEventKind.SLA_WARNING, "first_response"),
            ):
                session.add(
                    TicketEvent(ticket_id=ticket.id, kind=kind, text=body, actor_name="王芳")
                )
        session.add(
            MessageLog(
                customer_id=customer.id, direction=Direction.IN, content_type=ContentType.PHOTO,
                text=f"{mark} caption", created_at=NOW,
            )
        )  # fmt: skip
        session.add(
            Delivery(
                campaign_id=campaign.id, customer_id=customer.id, chat_id=telegram_id,
                tier=Tier.GOLD, status=DeliveryStatus.SENT, error=f"{mark} error",
            )
        )  # fmt: skip
        session.add(
            CareTask(
                customer_id=customer.id, campaign_id=campaign.id, occasion="mid_autumn",
                note=f"call {mark}",
            )
        )  # fmt: skip
    return ids


async def every_value(db: Database) -> list[tuple[str, str, Any]]:
    """(table, column, value) for every cell of every table, found by introspection."""
    cells: list[tuple[str, str, Any]] = []
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "customers" in tables and "message_logs" in tables
        for table in tables:
            result = await conn.execute(text(f'SELECT * FROM "{table}"'))
            names = list(result.keys())
            for row in result.all():
                cells.extend((table, name, value) for name, value in zip(names, row, strict=True))
    return cells


def containing(cells: list[tuple[str, str, Any]], needle: str) -> set[str]:
    return {f"{table}.{column}" for table, column, value in cells if needle in str(value)}


async def test_forget_leaves_no_trace_in_any_column_and_keeps_the_counts(
    database: Database,
) -> None:
    ids = await plant(database, 918273645546, MARK, BIRTHDAY)
    other = await plant(database, 4343, "Kp9OTHER", date(1990, 1, 2))
    before = await every_value(database)
    # The search can see the planted data (else a clean result would prove nothing).
    assert {"customers.first_name", "message_logs.text", "tickets.subject",
            "ticket_events.text", "deliveries.error", "care_tasks.note"} <= containing(
        before, MARK)  # fmt: skip
    assert containing(before, BIRTHDAY.isoformat()) == {"customers.birthday"}

    async with database.transaction() as session:
        repo = PrivacyRepo(session)
        customer = await repo.by_telegram_id(918273645546)
        assert customer is not None
        assert [t.number for t in await repo.held_tickets(ids["customer"])] == ["C-Zq-1"]
        counts = await repo.forget(customer, NOW)
    assert (counts.tickets, counts.tickets_closed, counts.messages) == (2, 1, 5)
    assert (counts.deliveries, counts.care_tasks, counts.already_forgotten) == (1, 1, False)

    after = await every_value(database)
    assert containing(after, MARK) == set()
    assert containing(after, BIRTHDAY.isoformat()) == set()
    assert containing(after, "918273645546") == set()  # the Telegram id is gone too
    # The other customer is untouched.
    assert containing(after, "Kp9OTHER") == containing(before, "Kp9OTHER")

    async with database.session() as session:
        repo = PrivacyRepo(session)
        assert await repo.by_telegram_id(918273645546) is None
        gone = await session.get(Customer, ids["customer"])
        assert gone is not None and gone.forgotten_at is not None and gone.tier is Tier.GOLD
        assert json.loads(gone.opt_outs) == []  # a preference, kept: the loyalty figures stay
        # Never addressed again: out of every audience and of retiering.
        profiles = ProfileRepo(session)
        assert ids["customer"] not in [m.customer_id for m in await profiles.audience()]
        assert ids["customer"] not in [t.customer_id for t in await profiles.tier_inputs()]
        assert other["customer"] in [m.customer_id for m in await profiles.audience()]
        tickets = await repo.tickets(ids["customer"])
        # The rows stay, for the counts: kind, status, score; all closed now.
        assert [(t.kind, t.status, t.csat_score, t.subject) for t in tickets] == [
            (TicketKind.COMPLAINT, TicketStatus.CLOSED, 2, ERASED),
            (TicketKind.COMPLAINT, TicketStatus.CLOSED, None, ERASED),
        ]
        assert all(t.redacted_at is not None for t in tickets)
        # Machine keys of the audit trail stay (the SLA watcher's dedup reads them).
        events = [e for e in (await session.execute(text("SELECT kind, text FROM ticket_events")))]
        assert ("sla_warning", "first_response") in [tuple(e) for e in events]
        # The campaign still counts its recipients.
        counts_by = await DeliveryRepo(session).counts(ids["campaign"])
        assert counts_by == {(Tier.GOLD, DeliveryStatus.SENT): 1}
        assert await DeliveryRepo(session).counts(other["campaign"]) == {
            (Tier.GOLD, DeliveryStatus.SENT): 1
        }
        # The staff topics are queued for the bot to delete.
        queue = await repo.topics_to_clean()
        assert [(c.number, c.topic_id, c.forgotten) for c in queue] == [
            ("C-Zq-0", 100, True),
            ("C-Zq-1", 101, True),
        ]
        assert [len(c.copies) for c in queue] == [1, 1]

    # Idempotent: a second run on the same row changes nothing and says so.
    async with database.transaction() as session:
        customer = await session.get(Customer, ids["customer"])
        assert customer is not None
        again = await PrivacyRepo(session).forget(customer, NOW + timedelta(days=1))
    assert again.already_forgotten and (again.messages, again.deliveries) == (0, 0)
    assert containing(await every_value(database), MARK) == set()

    async with database.transaction() as session:
        repo = PrivacyRepo(session)
        for cleanup in await repo.topics_to_clean():
            await repo.topic_cleaned(cleanup.ticket_id, NOW)
    async with database.session() as session:
        assert await PrivacyRepo(session).topics_to_clean() == []
        pairs = await session.execute(text("SELECT count(*) FROM message_pairs"))
        assert pairs.scalar_one() == 2  # the other customer's


def test_personal_tables_are_every_table_that_points_at_a_customer_or_ticket() -> None:
    import storage.care_models
    import storage.ops_models
    import storage.staff_models  # noqa: F401

    pointing = {
        table.name
        for table in SQLModel.metadata.sorted_tables
        if any(fk.column.table.name in ("customers", "tickets") for fk in table.foreign_keys)
    }
    assert pointing | {"customers"} == PERSONAL_TABLES
