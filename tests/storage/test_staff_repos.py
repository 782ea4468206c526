"""Staff repository on every backend: pairs, audit trail, topics, bans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import CustomerRepo, Database, StaffRepo, TicketEventKind, TicketRepo

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


async def test_pairs_events_topics_and_bans(database: Database) -> None:
    async with database.transaction() as session:
        customer = await CustomerRepo(session).upsert_from_telegram(9001, "Liang")
        assert customer.id is not None
        ticket = await TicketRepo(session).create(
            customer_id=customer.id,
            kind="complaint",
            subject="late",
            now=NOW,
            first_response_due=NOW + timedelta(minutes=30),
            resolution_due=NOW + timedelta(days=1),
        )
        assert ticket.id is not None
        staff = StaffRepo(session)
        await staff.set_topic(ticket, 77, 78, NOW)
        await staff.add_pair(
            ticket_id=ticket.id,
            direction="in",
            customer_chat_id=9001,
            customer_message_id=5,
            staff_chat_id=-100,
            staff_message_id=80,
            now=NOW,
        )
        await staff.add_event(ticket.id, TicketEventKind.SLA_WARNING, NOW, text="first_response")
        await staff.add_event(
            ticket.id, TicketEventKind.NOTE, NOW, actor_id=1, actor_name="王芳", text="备注\x00"
        )
        await staff.set_banned(customer, True, NOW)
    async with database.session() as session:
        staff = StaffRepo(session)
        found = await staff.ticket_by_topic(77)
        assert found is not None and found.card_message_id == 78
        pair = await staff.pair_by_staff_message(-100, 80)
        assert pair is not None and pair.customer_message_id == 5
        assert await staff.pair_by_customer_message(9001, 5) == pair
        keys = await staff.event_keys([found.id or 0], [TicketEventKind.SLA_WARNING])
        assert keys == {(found.id, "sla_warning", "first_response")}
        assert [e.text for e in await staff.events(found.id or 0)][-1] == "备注\x00"
        assert [t.number for t in await staff.unfinished()] == [found.number]
        assert (await CustomerRepo(session).get_by_telegram_id(9001)).banned  # type: ignore[union-attr]
