"""Who may act on tickets: members of the staff group (getChatMember) and ADMIN_IDS.

Answers are cached for `staff.auth_cache_seconds` so a busy topic does not cost a
getChatMember call per message; removing someone from the group takes effect within that TTL.
Also the chat-scope filter for the staff forum (its id comes from settings, not from code).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, User

from care.desk.staff import StaffActor
from care.runtime.services import Services

__all__ = ["InStaffChat", "IsStaff", "StaffAuth", "staff_actor"]

_MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})


class StaffAuth:
    """``await auth.allowed(bot, user_id)`` with a small TTL cache."""

    def __init__(self, services: Services, clock: Callable[[], float] = time.monotonic) -> None:
        self.services = services
        self._clock = clock
        self._cache: dict[int, tuple[float, bool]] = {}

    async def allowed(self, bot: Bot, user_id: int) -> bool:
        settings = self.services.settings
        if user_id in settings.admin_ids:
            return True
        if settings.staff_chat_id is None:
            return False
        now = self._clock()
        cached = self._cache.get(user_id)
        if cached is not None and now - cached[0] < settings.staff.auth_cache_seconds:
            return cached[1]
        try:
            member = await bot.get_chat_member(settings.staff_chat_id, user_id)
        except (TelegramBadRequest, TelegramForbiddenError):
            allowed = False
        else:
            status = str(getattr(member.status, "value", member.status))
            allowed = status in _MEMBER_STATUSES or (
                status == "restricted" and bool(getattr(member, "is_member", False))
            )
        self._cache[user_id] = (now, allowed)
        return allowed


class InStaffChat(Filter):
    """The update comes from the configured staff forum group."""

    async def __call__(self, event: Message | CallbackQuery, services: Services) -> bool:
        chat_id = services.settings.staff_chat_id
        if chat_id is None:
            return False
        message = event.message if isinstance(event, CallbackQuery) else event
        return message is not None and message.chat.id == chat_id


class IsStaff(Filter):
    """The sender is allowed to act on tickets (see `StaffAuth`)."""

    async def __call__(self, event: Message | CallbackQuery, **data: Any) -> bool:
        user = event.from_user
        auth: StaffAuth = data["staff_auth"]
        return user is not None and not user.is_bot and await auth.allowed(data["bot"], user.id)


def staff_actor(user: User) -> StaffActor:
    """The staff member behind a Telegram user, as the desk records them."""
    return StaffActor(user.id, user.full_name or str(user.id))
