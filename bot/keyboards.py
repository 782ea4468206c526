"""Care-layer buttons -> Telegram inline keyboards."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from care.replies import Button, Reply

__all__ = ["buttons_keyboard", "keyboard_for"]


def keyboard_for(reply: Reply) -> InlineKeyboardMarkup | None:
    """One button per row: labels are full sentences in Chinese and read best stacked."""
    return buttons_keyboard(reply.buttons)


def buttons_keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """The same layout for bare buttons (e.g. suggested replies under a relayed message)."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=button.label, callback_data=button.data)]
            for button in buttons
        ]
    )
