"""Resolved tickets close after `staff.close_resolved_after_days` (and only resolved ones)."""

from __future__ import annotations

from care.desk.closer import close_resolved
from care.desk.lifecycle import move
from care.runtime.services import Services
from storage import Ticket, TicketEventKind, TicketStatus
from tests.conftest import FakeClock


async def _ticket(services: Services, telegram_id: int, status: str) -> Ticket:
    """A complaint moved through `take` and, for finished states, `resolve`."""
    now = services.clock()
    async with services.unit_of_work() as repos:
        customer = await repos.customers.upsert_from_telegram(telegram_id, "Liang")
        ticket, _ = await services.conversation.desk.open_or_reuse(
            repos, customer, "complaint", "服务太差", now
        )
        for action in {"new": [], "open": ["take"], "resolved": ["take", "resolve"]}[status]:
            await repos.tickets.set_status(ticket, move(ticket.status, action), now)
        return ticket


async def _close(services: Services) -> list[int]:
    async with services.unit_of_work() as repos:
        closures = await close_resolved(services.staff, repos, services.clock())
    return [c.ticket.id or 0 for c in closures]


async def test_only_tickets_resolved_long_enough_are_closed(
    services: Services, clock: FakeClock
) -> None:
    old = await _ticket(services, 1, "resolved")
    clock.advance(days=2)
    recent = await _ticket(services, 2, "resolved")
    live = await _ticket(services, 3, "open")
    untouched = await _ticket(services, 4, "new")
    clock.advance(days=2)  # `old` resolved 4 days ago (the default), `recent` 2
    assert await _close(services) == [old.id]
    assert await _close(services) == []  # closed once
    clock.advance(days=2)
    assert await _close(services) == [recent.id]
    async with services.unit_of_work() as repos:
        statuses = [(await repos.tickets.get(t.id or 0)) for t in (old, recent, live, untouched)]
        events = await repos.staff.events(old.id or 0)
    assert [t.status for t in statuses if t is not None] == [
        TicketStatus.CLOSED, TicketStatus.CLOSED, TicketStatus.OPEN, TicketStatus.NEW,
    ]  # fmt: skip
    assert events[-1].kind == TicketEventKind.CLOSE and events[-1].actor_id is None


async def test_a_reopened_ticket_counts_from_its_latest_resolve(
    services: Services, clock: FakeClock
) -> None:
    ticket = await _ticket(services, 1, "resolved")
    clock.advance(days=3)
    async with services.unit_of_work() as repos:
        again = await repos.tickets.get(ticket.id or 0)
        assert again is not None
        for action in ("reopen", "take", "resolve"):
            await repos.tickets.set_status(again, move(again.status, action), services.clock())
    clock.advance(days=3)  # 6 days after the first resolve, 3 after the second
    assert await _close(services) == []
    clock.advance(days=1)
    assert await _close(services) == [ticket.id]


async def test_zero_days_keeps_resolved_tickets_resolved(
    services: Services, clock: FakeClock
) -> None:
    services.settings.staff.close_resolved_after_days = 0
    await _ticket(services, 1, "resolved")
    clock.advance(days=365)
    assert await _close(services) == []
