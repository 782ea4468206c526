"""Macro repository on every backend: previews, the send-once claim, suggestions, usage."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage import (
    CustomerRepo,
    Database,
    MacroOutcome,
    MacroRepo,
    TicketRepo,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


async def _ticket(database: Database) -> int:
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
        return ticket.id


async def test_two_simultaneous_claims_send_once(database: Database) -> None:
    ticket_id = await _ticket(database)
    async with database.transaction() as session:
        use = await MacroRepo(session).open_preview(
            ticket_id=ticket_id, script_id="macro.closing.line", staff_id=7001, values={},
            asking=None, suggestion_id=None, now=NOW,
        )  # fmt: skip
        assert use.id is not None and use.outcome == MacroOutcome.PENDING
        use_id = use.id
    both = asyncio.Event()
    arrived = 0

    async def press() -> bool:
        nonlocal arrived
        async with database.transaction() as session:
            arrived += 1
            if arrived == 2:
                both.set()
            await both.wait()  # both transactions are open before either claims
            return await MacroRepo(session).claim(use_id, MacroOutcome.SENT, NOW)

    results = await asyncio.gather(press(), press())
    assert sorted(results) == [False, True]
    async with database.session() as session:
        again = await MacroRepo(session).claim(use_id, MacroOutcome.CANCELLED, NOW)
        assert not again  # sent stays sent
        row = await MacroRepo(session).get(use_id)
        assert row is not None and row.outcome == MacroOutcome.SENT


async def test_asking_suggestions_settle_and_usage(database: Database) -> None:
    ticket_id = await _ticket(database)
    async with database.transaction() as session:
        repo = MacroRepo(session)
        rows = await repo.suggest(
            ticket_id=ticket_id, source_message_id=11,
            ranked=[("macro.delivery.late", 80.0), ("macro.refund.status", 40.0)], now=NOW,
        )  # fmt: skip
        asking = await repo.open_preview(
            ticket_id=ticket_id, script_id="macro.delay.apology", staff_id=7001, values={},
            asking="new_deadline", suggestion_id=None, now=NOW,
        )  # fmt: skip
        await repo.set_topic_message(asking, 500)
        assert (await repo.asking_by_prompt(ticket_id, 500)) == asking
        await repo.give_value(asking, {"new_deadline": "明天"}, None)
        assert (
            asking.outcome == MacroOutcome.PENDING
            and asking.values_json == '{"new_deadline": "明天"}'
        )
        # staff opened the second suggestion, then typed their own reply
        assert rows[1].id is not None
        await repo.open_preview(
            ticket_id=ticket_id, script_id="macro.refund.status", staff_id=7001, values={},
            asking=None, suggestion_id=rows[1].id, now=NOW,
        )  # fmt: skip
        assert await repo.settle_suggestions(ticket_id, None, NOW) == 2
        await repo.suggest(
            ticket_id=ticket_id, source_message_id=12,
            ranked=[("macro.closing.thanks", 90.0)], now=NOW,
        )  # fmt: skip
        assert await repo.settle_suggestions(ticket_id, "macro.closing.thanks", NOW) == 1
    async with database.session() as session:
        usage = await MacroRepo(session).usage()
    assert usage.counts[("macro.delivery.late", "suggested", "ignored")] == 1
    assert usage.counts[("macro.refund.status", "suggested", "edited")] == 1
    assert usage.counts[("macro.closing.thanks", "suggested", "sent")] == 1
    assert (usage.lines, usage.hits) == (2, 1)
