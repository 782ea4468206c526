"""Opting out of care greetings, one category at a time; support chat keeps working."""

from __future__ import annotations

from care.replies import Reply
from care.runtime.services import Services
from care.salutation import salutation
from care.uow import Repos
from storage import ProfileRepo

__all__ = ["GREETING_CATEGORIES", "opt_out"]

#: What /stop turns off: every kind of care greeting, never customer support.
GREETING_CATEGORIES: tuple[str, ...] = ("holiday", "birthday")


async def opt_out(
    services: Services, repos: Repos, telegram_id: int, category: str | None
) -> Reply | None:
    """Record the opt-out (`None` = every greeting category) in the update's unit of work
    and return the confirmation; None for an unknown category or customer."""
    categories = GREETING_CATEGORIES if category is None else (category,)
    if not set(categories) <= set(GREETING_CATEGORIES):
        return None
    if not await ProfileRepo(repos.session).set_opt_out(telegram_id, categories, True):
        return None
    customer = await repos.customers.get_by_telegram_id(telegram_id)
    assert customer is not None
    form = salutation(
        customer.language,
        surname=customer.surname,
        title=customer.title,
        first_name=customer.first_name,
    )
    script = f"optout.confirm.{category or 'all'}"
    return Reply(services.renderer.render(script, customer.language, {"salutation": form}))
