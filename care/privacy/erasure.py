"""Forgetting a customer: their personal data erased, anonymous ticket rows kept for reports.

One transaction (`storage.PrivacyRepo.forget` does the rows). A customer whose open ticket
a staff member holds right now is refused unless forced: erasing it would pull the case out
from under the person answering it, so the operator decides (finish or release it first, or
``--force``). The log line names the internal row id and counts, never the Telegram id, a
name or a text. The staff forum's copies are removed afterwards by the leader
(`care.privacy.retention.topics_to_clean` -> the bot deletes each redacted ticket's topic).
"""

from __future__ import annotations

import logging
from datetime import datetime

from storage import Database, ForgetCounts, PrivacyRepo, Session

__all__ = ["StaffHeld", "UnknownCustomer", "forget", "forget_in"]

log = logging.getLogger("carebot.privacy")


class UnknownCustomer(Exception):
    """Nobody with this Telegram id is known (never seen, or already forgotten)."""


class StaffHeld(Exception):
    """The customer has open tickets held by staff; `numbers` names them."""

    def __init__(self, numbers: list[str]) -> None:
        super().__init__(", ".join(numbers))
        self.numbers = numbers


async def forget_in(
    session: Session, telegram_id: int, now: datetime, *, force: bool = False
) -> ForgetCounts:
    """Forget the customer inside the caller's transaction (the bot's unit of work)."""
    repo = PrivacyRepo(session)
    customer = await repo.by_telegram_id(telegram_id)
    if customer is None or customer.id is None:
        raise UnknownCustomer(telegram_id)
    held = await repo.held_tickets(customer.id)
    if held and not force:
        raise StaffHeld([t.number for t in held])
    counts = await repo.forget(customer, now)
    log.warning(
        "customer #%d forgotten: %d ticket(s) anonymised (%d closed), %d message text(s), "
        "%d delivery row(s), %d care task(s) removed",
        counts.customer_id, counts.tickets, counts.tickets_closed, counts.messages,
        counts.deliveries, counts.care_tasks,
    )  # fmt: skip
    return counts


async def forget(
    database: Database, telegram_id: int, now: datetime, *, force: bool = False
) -> ForgetCounts:
    """Forget the customer in one transaction of its own (the CLI)."""
    async with database.transaction() as session:
        return await forget_in(session, telegram_id, now, force=force)
