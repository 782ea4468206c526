"""A lean Bot API client for broadcasts: `sendMessage` over plain aiohttp, no aiogram.

Why it exists: memory. Importing aiogram 3 builds ~600 pydantic models and costs about
165 MB RSS before a single message is sent, which alone breaks the broadcast worker's
200 MB budget (issue 6: 100,000 recipients at 1,000/s). The campaign sender
(`care.outreach.sender`) only needs one call - send a text with an opt-out button and get the
message id back - so `carebot campaign send` and the broadcast benchmark speak that one
method directly. The chat side (`carebot run`) keeps aiogram and `bot.broadcast`.

Telegram's answers map to the sender's outcomes exactly as `bot.broadcast` maps aiogram's
exceptions (aiogram decides by the same fields):

* ``ok: true`` -> the message id;
* ``parameters.retry_after`` (429) -> `RetryAfter` (the sender pauses *all* sending);
* 403 -> `Blocked` (the customer blocked the bot);
* 400 "chat not found" -> `ChatNotFound`; any other 400 -> `Rejected`;
* 5xx, a body that is not Telegram's JSON envelope, connection errors and timeouts ->
  `Transient` (the sender retries a bounded number of times with backoff);
* 401 / 404 (bad token or API URL) -> `TransportError`: that is the operator's problem,
  not the recipient's, so it stops the run instead of failing every row.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from care.outreach.sender import (
    Blocked,
    ChatNotFound,
    OutgoingMessage,
    Rejected,
    RetryAfter,
    SendFn,
    Transient,
)

__all__ = ["DEFAULT_API_BASE", "BotApiTransport", "TransportError"]

DEFAULT_API_BASE = "https://api.telegram.org"


class TransportError(Exception):
    """The Bot API refused the bot itself (wrong token or URL): stop, do not retry."""


class BotApiTransport:
    """``async with BotApiTransport(token, base) as api: await api.send(message)``.

    One pooled aiohttp session; `limit` caps open connections (the sender's own in-flight
    semaphore is the real bound, this only keeps a runaway from opening thousands).
    """

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        limit: int = 256,
        timeout_seconds: float = 30.0,
    ) -> None:
        base = (base_url or DEFAULT_API_BASE).rstrip("/")
        self._url = f"{base}/bot{token}/"
        self._limit = limit
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> BotApiTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily: an aiohttp session must be made inside a running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._limit),
                timeout=self._timeout,
                json_serialize=lambda obj: json.dumps(obj, ensure_ascii=False),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @property
    def send(self) -> SendFn:
        """The `send` callable for `CampaignSender`."""
        return self.send_message

    async def send_message(self, message: OutgoingMessage) -> int:
        """sendMessage with HTML, the buttons as an inline keyboard, the paid flag if set."""
        body: dict[str, Any] = {
            "chat_id": message.chat_id,
            "text": message.text,
            "parse_mode": "HTML",
        }
        if message.buttons:
            body["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": b.label, "callback_data": b.data}] for b in message.buttons
                ]
            }
        if message.paid:
            body["allow_paid_broadcast"] = True
        result = await self.call("sendMessage", body)
        return int(result["message_id"])

    async def call(self, method: str, body: dict[str, Any]) -> Any:
        """One Bot API method with a JSON body; returns ``result`` or raises a SendError."""
        try:
            async with self._http().post(self._url + method, json=body) as response:
                status = response.status
                raw = await response.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Transient(f"network: {type(exc).__name__}: {exc}") from None
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            # A proxy's HTML error page or a truncated body: worth another try.
            raise Transient(f"HTTP {status}: not a Bot API answer")
        if answer.get("ok") is True and status < 400:
            return answer.get("result")
        raise _error(status, answer)


def _error(status: int, answer: dict[str, Any]) -> Exception:
    """Telegram's ``ok: false`` envelope -> the sender's exception types."""
    code = int(answer.get("error_code") or status)
    description = str(answer.get("description") or f"HTTP {status}")
    parameters = answer.get("parameters") or {}
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if retry_after is not None:
        return RetryAfter(float(retry_after))
    if code == 403:
        return Blocked(description)
    if code == 400:
        if "chat not found" in description.lower():
            return ChatNotFound(description)
        return Rejected(description)
    if code >= 500:
        return Transient(description)
    if code in (401, 404):
        return TransportError(f"{code} {description}")
    return Rejected(description)
