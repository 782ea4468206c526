"""Router filters: all awaited in place (no thread hop per update), and what they decide."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Update

from bot.filters import Awaited, InPrivateChat
from tests.fakes.updates import callback_update, text_update


async def test_private_messages_and_buttons_pass_group_ones_do_not() -> None:
    scope = InPrivateChat()
    private = Update.model_validate(text_update(11, "hi")).message
    group = Update.model_validate(
        text_update(11, "hi", chat_id=-100123, chat_type="supergroup")
    ).message
    button = Update.model_validate(callback_update(11, "menu:inquiry", message_id=5))
    group_button = Update.model_validate(
        callback_update(11, "staff:take", message_id=6, chat_id=-100123)
    )
    assert private is not None and group is not None
    assert button.callback_query is not None and group_button.callback_query is not None
    assert await scope(private) is True
    assert await scope(group) is False
    assert await scope(button.callback_query) is True
    assert await scope(group_button.callback_query) is False
    # A button under a message too old for Telegram to send along has no chat to judge by.
    orphan = button.callback_query.model_copy(update={"message": None})
    assert await scope(orphan) is False


def test_every_router_filter_is_awaited_in_place() -> None:
    """aiogram resolves a bare magic filter or any sync callable in a worker thread, on every
    update the router sees; all of ours must be async `Filter`s (see bot/filters.py)."""
    from bot.routers import build_root_router

    def routers(router: Router) -> list[Router]:
        return [router, *(r for sub in router.sub_routers for r in routers(sub))]

    checked = []
    for router in routers(build_root_router()):
        for observer in router.observers.values():
            # Router-level scopes (`observer.filter(...)`) and each handler's own filters.
            handlers = [observer._handler, *observer.handlers]
            filters = [f for handler in handlers for f in handler.filters or ()]
            for event_filter in filters:
                checked.append(event_filter)
                assert event_filter.awaitable, f"{router.name}: {event_filter.callback!r}"
    assert len(checked) >= 15  # the private-chat scopes, staff scopes and button prefixes


async def test_awaited_magic_filter_keeps_the_result() -> None:
    update = Update.model_validate(callback_update(11, "csat:7:5", message_id=5))
    query = update.callback_query
    assert query is not None
    assert await Awaited(F.data.startswith("csat:"))(query) is True
    assert await Awaited(F.data.startswith("menu:"))(query) is False
    found = await Awaited(F.data.regexp(r"^csat:(\d+):\d$"))(query)
    assert found is not None and found.group(1) == "7"
