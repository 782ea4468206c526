"""`/forget` in the chat: the customer asks, a staff member approves in the staff group, it runs.

The request posts a card into the staff group's General topic with one *Approve erasure*
button (``privacy:forget:<customer row id>``); nothing is erased until someone there presses
it. The approval runs `care.privacy.erasure.forget_in` inside that update's unit of work (one
transaction) - refused, with the ticket named, while staff hold one of the customer's open
tickets - then the customer is told, the card says who approved, and the leader removes the
staff topics like after `carebot customers forget`. Pressing it twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

from care.privacy.erasure import StaffHeld, forget_in
from care.replies import Button, Reply
from care.runtime.services import Services
from care.salutation import salutation
from care.uow import Repos
from storage import PrivacyRepo

__all__ = ["APPROVE_PREFIX", "Approval", "ErasureRequest", "approve", "request"]

APPROVE_PREFIX = "privacy:forget:"


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    """The customer's acknowledgement, and the card for the staff group (None: no group)."""

    customer: Reply
    staff: Reply | None


@dataclass(frozen=True, slots=True)
class Approval:
    """What an approval produced: either an ``alert`` for the one who pressed (nothing was
    erased; the card stays), or the card's new text and the customer's message."""

    alert: Reply | None = None
    card: Reply | None = None
    chat_id: int | None = None
    customer: Reply | None = None


async def request(
    services: Services, repos: Repos, telegram_id: int, language: str
) -> ErasureRequest:
    """The customer sent /forget."""
    customer = await repos.customers.get_by_telegram_id(telegram_id)
    if customer is None or customer.id is None:
        return ErasureRequest(
            Reply(services.renderer.render("privacy.forget.nothing", language, {})), None
        )
    lang = customer.language
    form = salutation(
        lang, surname=customer.surname, title=customer.title, first_name=customer.first_name
    )
    ack = Reply(services.renderer.render("privacy.forget.requested", lang, {"salutation": form}))
    if services.settings.staff_chat_id is None:
        return ErasureRequest(ack, None)
    staff = services.staff
    tickets = await PrivacyRepo(repos.session).tickets(customer.id)
    ref = f"@{customer.username} · id {telegram_id}" if customer.username else f"id {telegram_id}"
    card = staff.staff_text(
        "staff.privacy.request",
        {
            "salutation": salutation(
                staff.language, surname=customer.surname, title=customer.title,
                first_name=customer.first_name,
            ),
            "customer_ref": ref,
            "count": len(tickets),
        },
    )  # fmt: skip
    label = staff.staff_text("staff.privacy.approve").rendered.plain
    return ErasureRequest(
        ack, Reply(card.rendered, (Button(label, f"{APPROVE_PREFIX}{customer.id}"),))
    )


async def approve(services: Services, repos: Repos, data: str, staff_name: str) -> Approval:
    """A staff member pressed *Approve erasure* (membership already checked by the edge)."""
    staff = services.staff
    raw = data.removeprefix(APPROVE_PREFIX)
    customer = await repos.customers.get(int(raw)) if raw.isdigit() else None
    if customer is None or customer.forgotten_at is not None:
        return Approval(alert=staff.staff_text("staff.privacy.already"))
    chat_id, language = customer.telegram_id, customer.language
    try:
        await forget_in(repos.session, chat_id, services.clock())
    except StaffHeld as held:
        numbers = ", ".join(held.numbers)
        return Approval(alert=staff.staff_text("staff.privacy.held", {"ticket_number": numbers}))
    done = Reply(services.renderer.render("privacy.forget.done", language, {}))
    card = staff.staff_text("staff.privacy.done", {"staff_name": staff_name})
    return Approval(card=card, chat_id=chat_id, customer=done)
