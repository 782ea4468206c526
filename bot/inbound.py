"""Turning aiogram messages into the care layer's `Inbound` (the only place that reads them)."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message, User

from care.replies import Inbound

__all__ = ["content_type_of", "inbound_from_callback", "inbound_from_message"]


def _user_fields(user: User | None, chat_id: int) -> dict[str, object]:
    if user is None:  # channel posts and anonymous admins carry no user
        return {"telegram_id": chat_id, "first_name": ""}
    return {
        "telegram_id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "language_code": user.language_code,
    }


def content_type_of(message: Message) -> str:
    """The content type as a plain string ("text", "sticker"...); aiogram's enum is no StrEnum."""
    return str(getattr(message.content_type, "value", message.content_type))


def inbound_from_message(message: Message) -> Inbound:
    """Text stays verbatim (it is stored as written); media keep their content type."""
    fields = _user_fields(message.from_user, message.chat.id)
    return Inbound(
        content_type=content_type_of(message),
        text=message.text,
        caption=message.caption,
        message_id=message.message_id,
        **fields,  # type: ignore[arg-type]
    )


def inbound_from_callback(query: CallbackQuery) -> Inbound:
    fields = _user_fields(query.from_user, query.from_user.id)
    return Inbound(content_type="callback", text=query.data, **fields)  # type: ignore[arg-type]
