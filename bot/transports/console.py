"""The console demo: chat with the real dispatcher as a customer, in a terminal.

Each line typed becomes a Telegram `Update` fed to `dp.feed_update`; what the bot
would send comes back through `LocalSession` and is printed (HTML tags removed,
entities unescaped, buttons listed as [1] [2] ...).  Typing a button's number
presses it.  With stdin not a terminal, each line is one customer message and
the demo exits 0 at end of input, so it can be scripted.  Edited content files are
picked up by the same background watch as the bot's (`care.runtime.watch.watch_content`);
reading a line blocks the loop, so here it looks between lines. With `trace`, each turn is
followed by one line saying why the bot answered so (`care.desk.trace`).
"""

from __future__ import annotations

import html
import itertools
import re
import time
from collections.abc import Iterator
from typing import Any, TextIO

from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Update

from bot.app import build_dispatcher
from bot.transports.local_session import LocalSession
from care.desk.dialogue import DIALOGUE, Dialogue
from care.desk.trace import trace_line
from care.runtime.services import Services
from care.runtime.watch import watch_content

__all__ = ["ConsoleChat"]

_TAG = re.compile(r"<[^>]+>")
_DEMO_ID = 10001
_DEMO_USER = {"id": _DEMO_ID, "is_bot": False, "first_name": "Demo", "language_code": "zh-hans"}


class ConsoleChat:
    """One customer's console conversation with the bot."""

    def __init__(self, services: Services, out: TextIO, *, trace: bool = False) -> None:
        from aiogram import Bot

        self._out = out
        self._session = LocalSession(on_request=self._print)
        self._bot = Bot("1:console-demo", session=self._session)
        self._services = services
        self._dispatcher = build_dispatcher(services)
        self._buttons: list[tuple[str, str]] = []
        self._ids = itertools.count(1)
        self._trace = trace
        self._key = StorageKey(bot_id=1, chat_id=_DEMO_ID, user_id=_DEMO_ID)

    async def say(self, line: str) -> None:
        """Send one customer line (or press button N by typing its number)."""
        update_id = next(self._ids)
        if line.strip().isdigit() and 0 < int(line.strip()) <= len(self._buttons):
            label, data = self._buttons[int(line.strip()) - 1]
            self._out.write(f"  (pressed: {label})\n")
            update = self._callback(update_id, data)
        else:
            update = self._message(update_id, line)
        before = await self._remembered()
        await self._dispatcher.feed_update(self._bot, Update.model_validate(update))
        if self._trace:
            after = await self._remembered()
            if after == before or after is None:
                self._out.write("  [trace] no conversation turn (command, button or flood)\n")
            else:
                self._out.write(trace_line(Dialogue.from_data(after)) + "\n")
            self._out.flush()

    async def _remembered(self) -> Any:
        """The customer's conversation state as the dispatcher stored it (FSM data)."""
        data = await self._dispatcher.storage.get_data(self._key)
        return data.get(DIALOGUE)

    async def run(self, lines: Iterator[str], *, interactive: bool) -> None:
        """Feed `lines` until they run out; a terminal gets a welcome and a prompt."""
        stop_watch = watch_content(self._services)
        try:
            if interactive:
                await self.say("/start")
            while True:
                if interactive:
                    self._out.write("you> ")
                    self._out.flush()
                line = next(lines, None)
                if line is None:
                    break
                line = line.rstrip("\r\n")
                if not interactive:
                    self._out.write(f"you> {line}\n")
                await self.say(line)
        finally:
            await stop_watch()
            await self._bot.session.close()

    # -- updates ---------------------------------------------------------------

    def _message(self, update_id: int, text: str) -> dict[str, Any]:
        return {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": int(time.time()),
                "chat": {"id": _DEMO_USER["id"], "type": "private"},
                "from": _DEMO_USER,
                "text": text,
                **(
                    {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                    if text.startswith("/")
                    else {}
                ),
            },
        }

    def _callback(self, update_id: int, data: str) -> dict[str, Any]:
        return {
            "update_id": update_id,
            "callback_query": {
                "id": str(update_id),
                "from": _DEMO_USER,
                "chat_instance": "console",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": _DEMO_USER["id"], "type": "private"},
                    "text": "menu",
                },
            },
        }

    # -- output ----------------------------------------------------------------

    def _print(self, method: TelegramMethod[Any]) -> None:
        if not isinstance(method, SendMessage | EditMessageText):
            return
        text = html.unescape(_TAG.sub("", str(method.text)))
        self._out.write("bot> " + text.replace("\n", "\n     ") + "\n")
        markup = method.reply_markup
        if isinstance(markup, InlineKeyboardMarkup):
            self._buttons = [
                (button.text, button.callback_data or "")
                for row in markup.inline_keyboard
                for button in row
            ]
            for number, (label, _) in enumerate(self._buttons, 1):
                self._out.write(f"     [{number}] {label}\n")
        self._out.flush()
