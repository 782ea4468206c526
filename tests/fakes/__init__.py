"""Test doubles for the Telegram side: a loopback fake Bot API server and update factories.

``FakeBotAPI`` speaks the real HTTP protocol, so aiogram's own session, serialisation and
error mapping run unchanged in end-to-end tests; ``updates`` builds the Update JSON to feed it.
"""

from __future__ import annotations

from . import updates
from .bot_api import Call, ErrorRule, FakeBotAPI, TelegramError, UploadedFile, parse_html

__all__ = [
    "Call",
    "ErrorRule",
    "FakeBotAPI",
    "TelegramError",
    "UploadedFile",
    "parse_html",
    "updates",
]
