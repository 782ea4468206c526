"""Ticket life cycle rules and the flood gate (pure functions, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from care.desk.lifecycle import TransitionError, escalated_priority, is_held, move
from care.runtime.flood import FloodGate
from storage import Priority, Ticket, TicketStatus


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("new", "take", "open"),
        ("open", "release", "new"),
        ("open", "staff_reply", "waiting_customer"),
        ("waiting_customer", "customer_reply", "open"),
        ("new", "customer_reply", "new"),
        ("waiting_customer", "resolve", "resolved"),
        ("resolved", "close", "closed"),
        ("closed", "reopen", "open"),
    ],
)
def test_allowed_moves(status: str, action: str, expected: str) -> None:
    assert move(status, action) == TicketStatus(expected)


@pytest.mark.parametrize(
    ("status", "action"),
    [("resolved", "take"), ("new", "close"), ("open", "reopen"), ("new", "fly")],
)
def test_refused_moves(status: str, action: str) -> None:
    with pytest.raises(TransitionError):
        move(status, action)


def test_reopen_without_assignee_goes_back_to_the_queue() -> None:
    assert move("resolved", "reopen", assigned=False) is TicketStatus.NEW


def _ticket(status: str, assignee: int | None) -> Ticket:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Ticket(
        number="C-1",
        kind="complaint",
        customer_id=1,
        subject="x",
        status=TicketStatus(status),
        assignee_id=assignee,
        first_response_due=now,
        resolution_due=now,
    )


def test_held_means_assigned_and_live() -> None:
    assert is_held(_ticket("open", 5)) and is_held(_ticket("waiting_customer", 5))
    assert (
        not is_held(_ticket("new", None))
        and not is_held(_ticket("resolved", 5))
        and not is_held(None)
    )


def test_breach_escalates_priority_one_step() -> None:
    assert [escalated_priority(p) for p in ("low", "normal", "high", "urgent")] == [
        Priority.NORMAL,
        Priority.HIGH,
        Priority.URGENT,
        Priority.URGENT,
    ]


def test_flood_gate_notifies_once_then_drops_then_recovers() -> None:
    gate, t = FloodGate(limit=20), datetime(2026, 1, 1, tzinfo=UTC)
    verdicts = [gate.check(1, t + timedelta(seconds=i)) for i in range(23)]
    assert verdicts[:20] == ["pass"] * 20 and verdicts[20:] == ["notify", "drop", "drop"]
    assert gate.check(2, t) == "pass"  # per customer
    assert gate.check(1, t + timedelta(minutes=2)) == "pass"
