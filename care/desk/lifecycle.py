"""The ticket life cycle: which moves are allowed, and what "a human holds this ticket" means.

    new --take--> open --staff replies--> waiting_customer --customer writes--> open
     ^  <--release--'                                                          |
     '-------------------------- resolve (from any live state) ----------------'-> resolved
    resolved --close--> closed;   resolved/closed --reopen--> open (assigned) or new

Pure functions over statuses, so the rules are tested without a database.

>>> move("new", "take")
'open'
>>> move("resolved", "reopen", assigned=False)
'new'
>>> move("closed", "take")
Traceback (most recent call last):
...
care.desk.lifecycle.TransitionError: cannot take a closed ticket
"""

from __future__ import annotations

from storage import Priority, Ticket, TicketStatus

__all__ = ["ACTIONS", "TransitionError", "escalated_priority", "is_held", "move"]

_LIVE = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.WAITING_CUSTOMER})
_FINISHED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})

#: Every action the life cycle knows.
ACTIONS = ("take", "release", "staff_reply", "customer_reply", "resolve", "close", "reopen")

_PRIORITY_UP = {
    Priority.LOW: Priority.NORMAL,
    Priority.NORMAL: Priority.HIGH,
    Priority.HIGH: Priority.URGENT,
    Priority.URGENT: Priority.URGENT,
}


class TransitionError(ValueError):
    """The action is not allowed in the ticket's current status."""


def move(status: TicketStatus | str, action: str, *, assigned: bool = True) -> TicketStatus:
    """The status after ``action``; raises TransitionError when the action is not allowed.

    ``assigned`` says whether someone still holds the ticket (a reopened ticket with no
    assignee goes back to the queue as ``new``, so the bot answers the customer meanwhile).
    """
    current = TicketStatus(status)
    if action == "take" and current in _LIVE:
        return TicketStatus.OPEN
    if action == "release" and current in _LIVE:
        return TicketStatus.NEW
    if action == "staff_reply" and current in _LIVE:
        return TicketStatus.WAITING_CUSTOMER
    if action == "customer_reply" and current in _LIVE:
        return TicketStatus.OPEN if current is TicketStatus.WAITING_CUSTOMER else current
    if action == "resolve" and current in _LIVE:
        return TicketStatus.RESOLVED
    if action == "close" and current in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return TicketStatus.CLOSED
    if action == "reopen" and current in _FINISHED:
        return TicketStatus.OPEN if assigned else TicketStatus.NEW
    if action not in ACTIONS:
        raise TransitionError(f"unknown action {action!r}")
    raise TransitionError(f"cannot {action} a {current.value} ticket")


def is_held(ticket: Ticket | None) -> bool:
    """Whether a human holds the ticket: the bot must not auto-answer this customer."""
    return (
        ticket is not None
        and ticket.assignee_id is not None
        and TicketStatus(ticket.status) in (TicketStatus.OPEN, TicketStatus.WAITING_CUSTOMER)
    )


def escalated_priority(priority: Priority | str) -> Priority:
    """One step up (urgent stays urgent): what an SLA breach does to a ticket."""
    return _PRIORITY_UP[Priority(priority)]
