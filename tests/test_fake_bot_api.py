"""The loopback fake Bot API (tests/fakes) against the real aiogram client and raw HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    ForumTopic,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from tests.fakes import FakeBotAPI, parse_html, updates
from tests.progress import finish

TOKEN = "42:TEST"
STAFF_CHAT = -1001234567890


def make_bot(api: FakeBotAPI, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TOKEN, max_poll_wait=0.5) as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(api)
    try:
        yield bot
    finally:
        await bot.session.close()


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="咨询", callback_data="menu:inquiry")]]
    )


async def test_get_me_describes_the_bot_from_the_token(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (42, True, "carebot_test_bot")
    assert me.first_name == "Carebot Test"
    assert me.can_join_groups is True


async def test_send_message_decodes_form_fields_and_echoes_a_message(
    api: FakeBotAPI, bot: Bot
) -> None:
    first = await bot.send_message(5, "你好", reply_markup=keyboard())
    second = await bot.send_message(5, "again", disable_notification=True)

    assert isinstance(first, Message)
    assert (first.chat.id, first.chat.type, first.text) == (5, "private", "你好")
    assert first.from_user is not None and first.from_user.id == 42
    # Compare dumps: parsed objects carry the bot context, so == with a fresh model fails.
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump() == keyboard().model_dump()
    assert second.message_id == first.message_id + 1
    assert second.reply_markup is None

    call = api.calls_of("sendMessage")[0]
    # aiogram sends strings; the fake hands tests the JSON values Telegram would read.
    assert call.params["chat_id"] == 5
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "咨询", "callback_data": "menu:inquiry"}]]
    }
    assert api.calls_of("sendMessage")[1].params["disable_notification"] is True
    assert [c.method for c in api.calls] == ["sendMessage", "sendMessage"]


async def test_html_parse_mode_yields_entities_or_the_real_parse_error(bot: Bot) -> None:
    sent = await bot.send_message(5, "<b>梁小姐</b>, 1 &lt; 2 🙂 <i>ok</i>", parse_mode="HTML")
    assert sent.text == "梁小姐, 1 < 2 🙂 ok"
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 3),
        ("italic", 14, 2),  # the emoji counts as two UTF-16 code units
    ]

    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(5, "line<br>break", parse_mode="HTML")


def test_parse_html_reports_unclosed_tags() -> None:
    assert parse_html('<a href="https://e.x">x</a>') == (
        "x",
        [{"type": "text_link", "url": "https://e.x", "offset": 0, "length": 1}],
    )
    with pytest.raises(Exception, match="Can't find end tag"):
        parse_html("<b>open")


async def test_copy_and_forward_a_customer_message(api: FakeBotAPI, bot: Bot) -> None:
    update = api.push_update(updates.text_update(5, "我的订单没到", first_name="小梁"))
    source_id = update["message"]["message_id"]

    copied = await bot.copy_message(STAFF_CHAT, from_chat_id=5, message_id=source_id)
    forwarded = await bot.forward_message(STAFF_CHAT, from_chat_id=5, message_id=source_id)

    stored = api.message(STAFF_CHAT, copied.message_id)
    assert stored is not None and stored["text"] == "我的订单没到"
    assert forwarded.text == "我的订单没到"
    assert forwarded.forward_origin is not None
    assert forwarded.forward_origin.type == "user"
    assert forwarded.chat.type == "supergroup"
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(STAFF_CHAT, from_chat_id=5, message_id=source_id + 999)


async def test_forum_topics_and_the_deleted_thread_error(api: FakeBotAPI, bot: Bot) -> None:
    topic = await bot.create_forum_topic(STAFF_CHAT, name="小梁 #5")
    assert isinstance(topic, ForumTopic)
    assert (topic.name, topic.icon_color) == ("小梁 #5", 7322096)

    sent = await bot.send_message(STAFF_CHAT, "新工单", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id
    assert sent.is_topic_message is True
    assert sent.message_id > topic.message_thread_id
    assert sent.chat.is_forum is True

    assert await bot.edit_forum_topic(STAFF_CHAT, topic.message_thread_id, name="已解决")
    assert await bot.close_forum_topic(STAFF_CHAT, topic.message_thread_id)
    assert api.topics(STAFF_CHAT)[topic.message_thread_id]["is_closed"] is True
    assert await bot.reopen_forum_topic(STAFF_CHAT, topic.message_thread_id)
    assert await bot.delete_forum_topic(STAFF_CHAT, topic.message_thread_id)

    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(STAFF_CHAT, "还在吗", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="not a forum"):
        await bot.create_forum_topic(5, name="dm")


async def test_get_updates_honours_offset_and_limit(api: FakeBotAPI, bot: Bot) -> None:
    pushed = [api.push_update(updates.text_update(5, f"m{i}")) for i in range(3)]
    ids = [u["update_id"] for u in pushed]

    got = await bot.get_updates()
    assert [u.update_id for u in got] == ids
    assert got[0].message is not None and got[0].message.text == "m0"

    assert [u.update_id for u in await bot.get_updates(offset=ids[1] + 1)] == ids[2:]
    # The offset confirmed the first two: they are gone for good.
    assert [u.update_id for u in await bot.get_updates(limit=5)] == ids[2:]
    assert api.pending_updates == pushed[2:]

    assert await bot.get_updates(offset=ids[2] + 1, timeout=0) == []
    # update_id is assigned when the update has none.
    assert api.push_update({"message": pushed[0]["message"]})["update_id"] == ids[2] + 1


async def test_long_poll_returns_early_on_push_and_never_hangs(api: FakeBotAPI, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=30) == []
    assert loop.time() - started < 2  # capped by max_poll_wait, not the asked 30 s

    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.05)
    api.push_update(updates.text_update(5, "hi"))
    got = await finish(poll, "the long poll to return")
    assert len(got) == 1


async def test_injected_retry_after_preserves_the_delay(api: FakeBotAPI, bot: Bot) -> None:
    api.inject_error(
        "sendMessage",
        code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        times=1,
        match=lambda params: True,
    )
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(5, "x")
    assert caught.value.retry_after == 1
    await bot.send_message(5, "x")  # times=1: the next call goes through

    failed, passed = api.calls_of("sendMessage")
    assert (failed.ok, failed.error_code, passed.ok) == (False, 429, True)


async def test_forbidden_by_rule_and_by_blocked_chat(api: FakeBotAPI, bot: Bot) -> None:
    api.inject_error(
        "sendMessage",
        code=403,
        description="Forbidden: bot was blocked by the user",
        times=None,
        match=lambda p: p["chat_id"] == 5,
    )
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(5, "x")
    await bot.send_message(6, "x")

    api.set_blocked(7)
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_photo(7, "AgACphotoid")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_chat_action(7, "typing")
    api.set_blocked(7, blocked=False)
    assert await bot.send_chat_action(7, "typing") is True


async def test_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    bot = make_bot(api, token="43:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    finally:
        await bot.session.close()
    assert api.calls == []


async def test_unknown_method_is_not_found(bot: Bot) -> None:
    with pytest.raises(TelegramNotFound, match="method not found"):
        await bot.get_file("some-file-id")


async def test_uploads_arrive_as_multipart_files(api: FakeBotAPI, bot: Bot) -> None:
    photo = await bot.send_photo(5, BufferedInputFile(b"\x89PNG", "a.png"), caption="看这里")
    document = await bot.send_document(5, BufferedInputFile(b"%PDF-1.4", "invoice.pdf"))

    assert photo.photo is not None and len(photo.photo) == 2
    assert photo.caption == "看这里"
    assert document.document is not None and document.document.file_name == "invoice.pdf"
    upload = next(iter(api.calls_of("sendDocument")[0].files.values()))
    assert (upload.filename, upload.data) == ("invoice.pdf", b"%PDF-1.4")
    # A re-sent file_id is echoed back as that file_id.
    sticker = await bot.send_sticker(5, "CAACsticker")
    assert sticker.sticker is not None and sticker.sticker.file_id == "CAACsticker"
    voice = await bot.send_voice(5, "AwACvoice", duration=4)
    assert voice.voice is not None and voice.voice.duration == 4
    video = await bot.send_video(5, "BAACvideo")
    assert video.video is not None
    location = await bot.send_location(5, latitude=22.3, longitude=114.2)
    assert location.location is not None and location.location.latitude == 22.3


async def test_edit_and_delete_follow_telegram_rules(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(5, "menu", reply_markup=keyboard())

    edited = await bot.edit_message_text("menu 2", chat_id=5, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "menu 2"
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("menu 2", chat_id=5, message_id=sent.message_id)
    again = await bot.edit_message_reply_markup(
        chat_id=5, message_id=sent.message_id, reply_markup=keyboard()
    )
    assert isinstance(again, Message) and again.reply_markup is not None
    assert again.reply_markup.model_dump() == keyboard().model_dump()
    assert await bot.edit_message_text("inline", inline_message_id="abc") is True

    with pytest.raises(TelegramBadRequest, match="there is no caption"):
        await bot.edit_message_caption(chat_id=5, message_id=sent.message_id, caption="c")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=5, message_id=sent.message_id + 100)

    assert await bot.delete_message(5, sent.message_id) is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(5, sent.message_id)


async def test_callback_message_can_be_edited(api: FakeBotAPI, bot: Bot) -> None:
    api.push_update(updates.callback_update(5, "menu:inquiry", message_id=77))
    edited = await bot.edit_message_text("请问有什么可以帮您?", chat_id=5, message_id=77)
    assert isinstance(edited, Message) and edited.message_id == 77
    assert await bot.answer_callback_query("1") is True


async def test_chat_members_and_admins(api: FakeBotAPI, bot: Bot) -> None:
    api.set_member(STAFF_CHAT, 100, "creator")
    api.set_member(STAFF_CHAT, 101, "administrator")
    api.set_member(STAFF_CHAT, 102, "kicked")

    statuses = [
        (await bot.get_chat_member(STAFF_CHAT, user_id)).status for user_id in (100, 101, 102, 103)
    ]
    assert statuses == ["creator", "administrator", "kicked", "left"]
    admins = await bot.get_chat_administrators(STAFF_CHAT)
    assert sorted(a.user.id for a in admins) == [100, 101]
    with pytest.raises(TelegramBadRequest):
        await bot.get_chat_administrators(5)

    chat = await bot.get_chat(STAFF_CHAT)
    assert (chat.id, chat.type) == (STAFF_CHAT, "supergroup")


async def test_webhook_state_and_polling_conflict(api: FakeBotAPI, bot: Bot) -> None:
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.set_webhook("https://care.example/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://care.example/hook"
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    with pytest.raises(TelegramBadRequest, match="HTTPS URL"):
        await bot.set_webhook("http://insecure.example/hook")

    api.push_update(updates.text_update(5, "queued"))
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == []
    assert await bot.log_out() is True
    assert await bot.close() is True


async def test_bot_commands_per_language(bot: Bot) -> None:
    commands = [BotCommand(command="start", description="开始")]
    assert await bot.set_my_commands(commands, language_code="zh")
    got = await bot.get_my_commands(language_code="zh")
    assert [c.model_dump() for c in got] == [c.model_dump() for c in commands]
    assert await bot.get_my_commands() == []
    assert await bot.delete_my_commands(language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Name", description="x")])


async def test_wait_for_counts_calls_and_times_out(api: FakeBotAPI, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await bot.send_message(5, "late")

    task = asyncio.create_task(later())
    calls = await api.wait_for(method="sendMessage", count=1, timeout=5)
    await task
    assert calls[0].params["text"] == "late"

    with pytest.raises(TimeoutError, match="sendMessage"):
        await api.wait_for(method="sendMessage", count=2, timeout=0.1)


async def test_latency_delays_every_answer(api: FakeBotAPI, bot: Bot) -> None:
    api.set_latency(0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bot.get_me()
    assert loop.time() - started >= 0.2


async def test_raw_http_json_urlencoded_and_case_insensitive_methods(api: FakeBotAPI) -> None:
    base = f"{api.base_url}/bot{TOKEN}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/SENDMESSAGE", json={"chat_id": 5, "text": "json"}) as r:
            body: dict[str, Any] = await r.json()
        assert body["ok"] is True and body["result"]["text"] == "json"

        form = {"chat_id": "5", "text": "123", "reply_markup": '{"inline_keyboard": []}'}
        async with http.post(f"{base}/sendmessage", data=form) as r:
            body = await r.json()
        assert body["result"]["text"] == "123"  # text stays a string even if it looks numeric

        async with http.get(f"{base}/getMe") as r:
            assert (await r.json())["result"]["id"] == 42

        async with http.post(f"{api.base_url}/bot1:bad/getMe") as r:
            assert r.status == 401
            assert await r.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.post(f"{base}/noSuchMethod") as r:
            assert r.status == 404
            assert (await r.json())["description"] == "Not Found: method not found"

    assert [c.method for c in api.calls] == ["sendMessage", "sendMessage", "getMe", "noSuchMethod"]
    assert api.calls[1].params["reply_markup"] == {"inline_keyboard": []}


async def test_dispatcher_polls_the_fake_end_to_end(api: FakeBotAPI) -> None:
    bot = make_bot(api)
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=True)
    )
    try:
        api.push_update(updates.text_update(5, "你好"))
        calls = await api.wait_for(method="sendMessage", count=1, timeout=5)
        assert calls[0].params == {"chat_id": 5, "text": "echo: 你好"}
    finally:
        await finish(dp.stop_polling(), "stop_polling")
        await finish(polling, "polling to stop")


@pytest.mark.parametrize(
    "update",
    [
        updates.text_update(5, "hi", username="liang", language_code="zh-hans"),
        updates.text_update(5, "reply", reply_to_message_id=1),
        updates.sticker_update(5),
        updates.photo_update(5, caption="pic"),
        updates.voice_update(5),
        updates.document_update(5),
        updates.video_update(5),
        updates.location_update(5),
        updates.edited_text_update(5, "fixed", message_id=3),
        updates.callback_update(5, "menu:faq", message_id=4),
        updates.staff_group_update(STAFF_CHAT, 100, "staff reply", thread_id=9),
        {"update_id": 1, "message": updates.topic_message(STAFF_CHAT, 100, "x", thread_id=9)},
    ],
)
def test_update_factories_are_valid_telegram_json(update: dict[str, Any]) -> None:
    parsed = Update.model_validate(update)
    assert parsed.update_id == update["update_id"]
    message = parsed.message or parsed.edited_message
    if message is not None and message.chat.type == "supergroup":
        assert message.is_topic_message is True and message.message_thread_id == 9
        assert message.chat.is_forum is True


def test_factory_ids_increase() -> None:
    first = updates.text_update(5, "a")
    second = updates.text_update(5, "b")
    assert second["update_id"] > first["update_id"]
    assert second["message"]["message_id"] > first["message"]["message_id"]
