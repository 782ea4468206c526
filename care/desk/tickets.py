"""Opening tickets with SLA deadlines: the one place that turns a kind + tier into due dates.

What the bot promises a customer is computed here from the same SLA settings the
staff watcher enforces, so the promise and the deadline can never disagree. Deadlines
count business time only (`care.desk.business_hours`): the clock pauses at night and on holidays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from care.desk.business_hours import BusinessCalendar
from care.runtime.settings import Settings
from care.uow import Repos
from storage import Customer, Priority, Ticket

__all__ = ["TicketDesk"]

_PRIORITY = {"complaint": "high", "inquiry": "normal", "feedback": "low"}
_RANK = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


class _Unknown(Enum):
    """`open_or_reuse(current=...)` default: the caller has not looked the open ticket up."""

    LOOK_UP = "look up"


@dataclass(frozen=True, slots=True)
class TicketDesk:
    """Creates tickets (or finds the customer's open one) with deadlines from settings."""

    settings: Settings

    @property
    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.settings.business_hours, self.settings.zone)

    async def open_or_reuse(
        self,
        repos: Repos,
        customer: Customer,
        kind: str,
        subject: str,
        now: datetime,
        *,
        any_kind: bool = False,
        current: Ticket | _Unknown | None = _Unknown.LOOK_UP,
    ) -> tuple[Ticket, bool]:
        """The customer's open ticket of this kind, else a new one; `True` when created.

        A customer who writes three angry messages gets one ticket, not three: later
        messages join the ticket already being handled. `any_kind`: asking for a person
        joins whatever case is open (one customer, one topic in the staff group).
        `current`: the customer's open ticket (or None) when the caller already looked it up
        in this transaction - the conversation does, and one query per turn is enough.
        """
        assert customer.id is not None, "repositories flush new rows"
        existing = (
            await repos.tickets.open_for_customer(customer.id)
            if isinstance(current, _Unknown)
            else current
        )
        if existing is not None and (any_kind or existing.kind == kind):
            return existing, False
        sla = self.settings.sla[kind]
        tier = customer.tier_override or customer.tier
        priority = self._priority(customer, kind)
        ticket = await repos.tickets.create(
            customer_id=customer.id,
            kind=kind,
            subject=subject,
            now=now,
            day=now.astimezone(self.settings.zone).date(),
            first_response_due=self.calendar.add(now, sla.first_response(tier)),
            resolution_due=self.calendar.add(now, sla.resolution(tier)),
            priority=priority,
        )
        return ticket, True

    async def as_complaint(
        self, repos: Repos, customer: Customer, ticket: Ticket, now: datetime
    ) -> bool:
        """A complaint joins an open non-complaint case: give the case at least a complaint's
        priority. True: treat the message as the case's first complaint."""
        wanted = Priority(self._priority(customer, "complaint"))
        if _RANK.index(Priority(ticket.priority)) < _RANK.index(wanted):
            await repos.staff.set_priority(ticket, wanted, now)
        return True

    @staticmethod
    def _priority(customer: Customer, kind: str) -> str:
        tier = customer.tier_override or customer.tier
        return "urgent" if tier == "gold" and kind == "complaint" else _PRIORITY[kind]
