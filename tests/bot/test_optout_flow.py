"""Opt-out through the real routers: /stop and the greeting button; support still works."""

from __future__ import annotations

from care.runtime.services import Services
from storage import CustomerRepo
from tests.bot.chat import Chat, plain


async def _opt_outs(services: Services) -> frozenset[str]:
    async with services.database.session() as session:
        customer = await CustomerRepo(session).get_by_telegram_id(501)
        assert customer is not None
        return customer.opt_out_categories()


async def test_button_opts_out_of_that_category_only(chat: Chat, services: Services) -> None:
    await chat.say("/start", language_code="en")  # an English-speaking customer
    sent = await chat.press("optout:holiday")
    assert "holiday greetings" in plain(sent[-1])
    assert await _opt_outs(services) == {"holiday"}
    reply = await chat.say("请问你们几点关门")  # support still answers
    assert reply and "greetings" not in plain(reply[-1])


async def test_stop_opts_out_of_all_greetings(chat: Chat, services: Services) -> None:
    await chat.say("/start", language_code="en")  # an English-speaking customer
    sent = await chat.say("/stop")
    assert "holiday or birthday greetings" in plain(sent[-1])
    assert await _opt_outs(services) == {"holiday", "birthday"}
