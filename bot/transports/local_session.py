"""A Bot API session that answers in-process: the console demo's and the handler tests' seam.

Every request is recorded and answered the way Telegram would (a Message for
sendMessage, True for answerCallbackQuery ...).  The answer still goes through
aiogram's own `check_response`, so results are parsed by the real code path and
handlers cannot tell the difference from the network.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

__all__ = ["LocalSession", "SentRequest"]

_BOT_USER = {
    "id": 1,
    "is_bot": True,
    "first_name": "carebot",
    "username": "carebot_local_bot",
}

SentRequest = TelegramMethod[Any]


class LocalSession(BaseSession):
    """Records each method call in `requests` and calls `on_request` (e.g. to print it)."""

    def __init__(self, on_request: Callable[[TelegramMethod[Any]], None] | None = None) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self._on_request = on_request
        self._message_ids = itertools.count(1000)
        self._thread_ids = itertools.count(10)

    async def close(self) -> None:
        return None

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.requests.append(method)
        if self._on_request is not None:
            self._on_request(method)
        payload = {"ok": True, "result": self._result_for(method)}
        response = self.check_response(
            bot=bot, method=method, status_code=200, content=json.dumps(payload)
        )
        return response.result  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    def _result_for(self, method: TelegramMethod[Any]) -> Any:
        name = type(method).__name__
        params = _params(method)
        if name == "GetMe":
            return _BOT_USER
        if name == "CopyMessage":
            return {"message_id": next(self._message_ids)}
        if name == "CreateForumTopic":
            return {
                "message_thread_id": next(self._thread_ids),
                "name": params.get("name", ""),
                "icon_color": 7322096,
            }
        if name.startswith("Send") or name.startswith("EditMessage"):
            message: dict[str, Any] = {
                "message_id": params.get("message_id") or next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": params.get("chat_id", 0), "type": "private"},
                "from": _BOT_USER,
            }
            for key in ("text", "caption", "reply_markup", "message_thread_id"):
                if key in params:
                    message[key] = params[key]
            return message
        return True


def _params(method: TelegramMethod[Any]) -> dict[str, Any]:
    """The call's explicit parameters as JSON values (bot defaults left unresolved)."""
    params: dict[str, Any] = {}
    for key in type(method).model_fields:
        value = getattr(method, key, None)
        if value is None or isinstance(value, Default):
            continue
        if hasattr(value, "model_dump"):
            value = value.model_dump(exclude_none=True, mode="json")
        params[key] = value
    return params
