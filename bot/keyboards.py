"""Care-layer buttons -> Telegram inline keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from care.replies import Reply

__all__ = ["keyboard_for"]


def keyboard_for(reply: Reply) -> InlineKeyboardMarkup | None:
    """One button per row: labels are full sentences in Chinese and read best stacked."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=button.label, callback_data=button.data)]
            for button in reply.buttons
        ]
    )
