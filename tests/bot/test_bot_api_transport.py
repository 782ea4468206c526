"""The lean Bot API transport against the loopback fake Bot API: same wire format and the
same outcome mapping as the aiogram-based `bot.broadcast.telegram_send`."""

from __future__ import annotations

import sys

import pytest

from bot.transports.bot_api import BotApiTransport, TransportError
from care.outreach.sender import (
    Blocked,
    ChatNotFound,
    OutgoingMessage,
    Rejected,
    RetryAfter,
    SendError,
    Transient,
)
from care.replies import Button
from tests.bot.conftest import TOKEN, Send
from tests.fakes.bot_api import FakeBotAPI
from tests.progress import run_process

GREETING = OutgoingMessage(
    1001, "<b>梁小姐</b>，新春快乐！", (Button("不再接收节日问候", "optout:holiday"),), paid=True
)


async def test_send_message_wire_format(api: FakeBotAPI, send: Send) -> None:
    message_id = await send(GREETING)
    [call] = api.calls_of("sendMessage")
    assert call.ok and call.result["message_id"] == message_id
    assert call.params["chat_id"] == 1001
    assert call.params["parse_mode"] == "HTML"
    assert call.params["allow_paid_broadcast"] is True
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "不再接收节日问候", "callback_data": "optout:holiday"}]]
    }
    assert call.result["text"] == "梁小姐，新春快乐！"  # the HTML parsed like Telegram does


async def test_free_messages_carry_no_paid_flag(api: FakeBotAPI, send: Send) -> None:
    await send(OutgoingMessage(1001, "hi"))
    [call] = api.calls_of("sendMessage")
    assert "allow_paid_broadcast" not in call.params and "reply_markup" not in call.params


@pytest.mark.parametrize(
    ("code", "description", "retry_after", "expected"),
    [
        (429, "Too Many Requests: retry after 7", 7, RetryAfter),
        (403, "Forbidden: bot was blocked by the user", None, Blocked),
        (400, "Bad Request: chat not found", None, ChatNotFound),
        (400, "Bad Request: message is too long", None, Rejected),
        (502, "Bad Gateway", None, Transient),
    ],
)
async def test_errors_map_to_the_senders_outcomes(
    api: FakeBotAPI,
    send: Send,
    code: int,
    description: str,
    retry_after: int | None,
    expected: type[SendError],
) -> None:
    api.inject_error("sendMessage", code=code, description=description, retry_after=retry_after)
    with pytest.raises(expected) as caught:
        await send(GREETING)
    if retry_after is not None:
        assert isinstance(caught.value, RetryAfter) and caught.value.seconds == retry_after
    assert await send(GREETING) > 0  # the next one goes through


async def test_network_error_is_transient() -> None:
    # Nothing listens on this port (bound, then closed).
    async with FakeBotAPI(TOKEN) as server:
        url = server.base_url
    transport = BotApiTransport(TOKEN, url, timeout_seconds=2)
    try:
        with pytest.raises(Transient):
            await transport.send(GREETING)
    finally:
        await transport.aclose()


async def test_wrong_token_stops_instead_of_failing_rows(api: FakeBotAPI) -> None:
    transport = BotApiTransport("42:WRONG", api.base_url, timeout_seconds=5)
    try:
        with pytest.raises(TransportError):
            await transport.send(GREETING)
    finally:
        await transport.aclose()


def test_campaign_send_path_does_not_import_aiogram_or_the_intent_model() -> None:
    """The broadcast worker's memory budget depends on it (see bot/transports/bot_api.py)."""
    code = (
        "import sys, bot.cli, bot.transports.bot_api, care.outreach.wiring, care.outreach.tasks\n"
        "heavy = [m for m in ('aiogram', 'sklearn', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = run_process([sys.executable, "-c", code], check=True)
    assert out.stdout.strip() == ""
