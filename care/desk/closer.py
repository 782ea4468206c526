"""Closing resolved tickets that nobody reopened: the staff forum's housekeeping.

A resolved ticket stays reopenable for `staff.close_resolved_after_days` (default 4, like
Zendesk's solved -> closed); after that it is closed, the audit trail says so, and the staff
group's topic is closed with a short note, so the forum's topic list shows only live cases.
The customer loses nothing: a new message after that opens a new ticket, as it already does
after a resolve. Run by the leader only (`bot.runners.runtime.start_leader_duties`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from care.desk.lifecycle import move
from care.desk.staff import StaffDesk
from care.replies import Reply
from care.uow import Repos
from storage import Ticket, TicketEventKind

__all__ = ["Closure", "close_resolved"]


@dataclass(frozen=True, slots=True)
class Closure:
    """One ticket closed: the note for its topic and its refreshed card."""

    ticket: Ticket
    topic: Reply
    card: Reply


async def close_resolved(staff: StaffDesk, repos: Repos, now: datetime) -> list[Closure]:
    """Close every ticket resolved at least the configured number of days before `now`."""
    days = staff.settings.staff.close_resolved_after_days
    if days <= 0:
        return []
    closures = []
    for ticket in await repos.staff.resolved_before(now - timedelta(days=days)):
        assert ticket.id is not None, "a stored ticket has an id"
        await repos.tickets.set_status(ticket, move(ticket.status, "close"), now)
        await repos.staff.add_event(ticket.id, TicketEventKind.CLOSE, now)
        closures.append(
            Closure(ticket, staff.staff_text("staff.event.closed"), await staff.card(repos, ticket))
        )
    return closures
