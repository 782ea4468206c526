"""Factories for Telegram ``Update`` dicts (Bot API JSON) used by the tests.

Every factory returns plain JSON-ready dicts, so the same update can be fed to
``Dispatcher.feed_raw_update`` or queued on :class:`tests.fakes.FakeBotAPI` with
``push_update``. Ids come from process-wide counters: update ids and message ids only ever
grow, like Telegram's. :class:`~tests.fakes.FakeBotAPI` reserves the message ids it hands
out to the bot through :func:`reserve_message_id`, so a customer message built *after* a
bot reply always gets a larger id than that reply and ids never collide inside a chat.

The keyword arguments shared by all message factories (``first_name``, ``last_name``,
``username``, ``language_code``, ``update_id``, ``message_id``, ``chat_id``, ``thread_id``,
``chat_type``, ``reply_to_message_id``, ``date``) are documented on :func:`message_update`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "BOT_ID",
    "DEFAULT_TOPIC_ICON_COLOR",
    "callback_update",
    "document_update",
    "edited_text_update",
    "location_update",
    "message_update",
    "photo_update",
    "reserve_message_id",
    "reset_counters",
    "staff_group_update",
    "sticker_update",
    "text_update",
    "topic_message",
    "user",
    "video_update",
    "voice_update",
]

#: Bot id used by :func:`callback_update` for the bot-authored message under the buttons;
#: matches the ``42:TEST`` token used throughout the tests.
BOT_ID = 42
#: Telegram's default topic colour (0x6FB9F0), one of the six allowed icon colours.
DEFAULT_TOPIC_ICON_COLOR = 7322096


class _Counter:
    """A monotonic id source that can be pushed forward (itertools.count cannot)."""

    def __init__(self, start: int = 1) -> None:
        self._count: Iterator[int] = itertools.count(start)
        self._last = start - 1

    def next(self) -> int:
        self._last = next(self._count)
        return self._last

    def advance_past(self, value: int) -> None:
        if value > self._last:
            self._last = value
            self._count = itertools.count(value + 1)

    def reset(self, start: int = 1) -> None:
        self._count = itertools.count(start)
        self._last = start - 1


_update_ids = _Counter()
_message_ids = _Counter()
_callback_ids = _Counter()
_file_ids = _Counter()


def reserve_message_id(message_id: int) -> None:
    """Make every later factory message id larger than ``message_id``."""
    _message_ids.advance_past(message_id)


def reset_counters() -> None:
    """Restart all id counters at 1 (for tests that assert exact ids)."""
    for counter in (_update_ids, _message_ids, _callback_ids, _file_ids):
        counter.reset()


def _file(kind: str) -> dict[str, Any]:
    n = _file_ids.next()
    return {"file_id": f"in-{kind}-{n}", "file_unique_id": f"uin-{kind}-{n}"}


def user(
    user_id: int,
    *,
    first_name: str = "Test",
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
    is_bot: bool = False,
) -> dict[str, Any]:
    """A Telegram ``User`` object; optional fields are left out when ``None`` (as Telegram does)."""
    result: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name is not None:
        result["last_name"] = last_name
    if username is not None:
        result["username"] = username
    if language_code is not None:
        result["language_code"] = language_code
    return result


def _chat(
    sender: Mapping[str, Any], chat_id: int | None, chat_type: str, thread_id: int | None
) -> dict[str, Any]:
    if chat_type == "private":
        chat: dict[str, Any] = {"id": sender["id"] if chat_id is None else chat_id}
        chat["type"] = "private"
        for key in ("first_name", "last_name", "username"):
            if key in sender:
                chat[key] = sender[key]
        return chat
    if chat_id is None:
        raise ValueError(f"chat_id is required for a {chat_type} chat")
    chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type}"}
    if chat_type == "supergroup" and thread_id is not None:
        chat["is_forum"] = True
    return chat


def message_update(
    user_id: int,
    content: Mapping[str, Any],
    *,
    first_name: str = "Test",
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
    update_id: int | None = None,
    message_id: int | None = None,
    chat_id: int | None = None,
    thread_id: int | None = None,
    chat_type: str = "private",
    reply_to_message_id: int | None = None,
    date: int | None = None,
    kind: str = "message",
) -> dict[str, Any]:
    """An update carrying a message from ``user_id`` with the given content fields.

    ``chat_id`` defaults to ``user_id`` in private chats and is required otherwise.
    ``thread_id`` makes it a forum-topic message (``message_thread_id`` +
    ``is_topic_message``); unless it replies to something else, a topic message replies to
    the topic's creation service message, exactly like Telegram sends it.
    ``kind`` is the update field (``message``, ``edited_message``, ``channel_post``...).
    """
    sender = user(
        user_id,
        first_name=first_name,
        last_name=last_name,
        username=username,
        language_code=language_code,
    )
    chat = _chat(sender, chat_id, chat_type, thread_id)
    sent = int(time.time()) if date is None else date
    message: dict[str, Any] = {
        "message_id": _message_ids.next() if message_id is None else message_id,
        "from": sender,
        "date": sent,
        "chat": chat,
    }
    if message_id is not None:
        reserve_message_id(message_id)
    if thread_id is not None:
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
    if reply_to_message_id is not None:
        message["reply_to_message"] = {
            "message_id": reply_to_message_id,
            "date": sent,
            "chat": chat,
        }
    elif thread_id is not None:
        message["reply_to_message"] = {
            "message_id": thread_id,
            "date": sent,
            "chat": chat,
            "message_thread_id": thread_id,
            "forum_topic_created": {"name": "Topic", "icon_color": DEFAULT_TOPIC_ICON_COLOR},
        }
    message.update(content)
    return {"update_id": _update_ids.next() if update_id is None else update_id, kind: message}


def text_update(user_id: int, text: str, **common: Any) -> dict[str, Any]:
    """A text message (common keywords: see :func:`message_update`)."""
    return message_update(user_id, {"text": text}, **common)


def edited_text_update(user_id: int, text: str, **common: Any) -> dict[str, Any]:
    """An ``edited_message`` update; pass the original ``message_id`` to edit that message."""
    update = message_update(user_id, {"text": text}, kind="edited_message", **common)
    message = update["edited_message"]
    message["edit_date"] = message["date"]
    return update


def sticker_update(user_id: int, *, emoji: str = "🙂", **common: Any) -> dict[str, Any]:
    """A sticker message."""
    sticker = {
        **_file("sticker"),
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
    }
    return message_update(user_id, {"sticker": sticker}, **common)


def _with_caption(content: dict[str, Any], caption: str | None) -> dict[str, Any]:
    if caption is not None:
        content["caption"] = caption
    return content


def photo_update(user_id: int, *, caption: str | None = None, **common: Any) -> dict[str, Any]:
    """A photo message: Telegram sends several sizes of one picture, smallest first."""
    photo = _file("photo")
    sizes = [
        {**photo, "file_id": photo["file_id"] + "-s", "width": 90, "height": 67},
        {**photo, "width": 1280, "height": 960},
    ]
    return message_update(user_id, _with_caption({"photo": sizes}, caption), **common)


def voice_update(
    user_id: int, *, duration: int = 3, caption: str | None = None, **common: Any
) -> dict[str, Any]:
    """A voice note."""
    voice = {**_file("voice"), "duration": duration, "mime_type": "audio/ogg"}
    return message_update(user_id, _with_caption({"voice": voice}, caption), **common)


def document_update(
    user_id: int,
    *,
    file_name: str = "file.pdf",
    mime_type: str = "application/pdf",
    caption: str | None = None,
    **common: Any,
) -> dict[str, Any]:
    """A document (any file sent without compression)."""
    document = {**_file("document"), "file_name": file_name, "mime_type": mime_type}
    return message_update(user_id, _with_caption({"document": document}, caption), **common)


def video_update(
    user_id: int, *, duration: int = 5, caption: str | None = None, **common: Any
) -> dict[str, Any]:
    """A video."""
    video = {**_file("video"), "width": 640, "height": 360, "duration": duration}
    return message_update(user_id, _with_caption({"video": video}, caption), **common)


def location_update(
    user_id: int, *, latitude: float = 22.3193, longitude: float = 114.1694, **common: Any
) -> dict[str, Any]:
    """A location pin (Hong Kong by default)."""
    location = {"latitude": latitude, "longitude": longitude}
    return message_update(user_id, {"location": location}, **common)


def callback_update(
    user_id: int,
    data: str,
    *,
    message_id: int,
    chat_id: int | None = None,
    first_name: str = "Test",
    username: str | None = None,
    language_code: str | None = None,
    update_id: int | None = None,
    message_text: str = "menu",
    reply_markup: Mapping[str, Any] | None = None,
    bot_id: int = BOT_ID,
) -> dict[str, Any]:
    """A button press on the bot's message ``message_id`` (in the user's DM by default)."""
    sender = user(user_id, first_name=first_name, username=username, language_code=language_code)
    chat = _chat(sender, chat_id, "private" if chat_id in (None, user_id) else "supergroup", None)
    bot = user(bot_id, first_name="Carebot Test", username="carebot_test_bot", is_bot=True)
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": bot,
        "date": int(time.time()),
        "chat": chat,
        "text": message_text,
    }
    if reply_markup is not None:
        message["reply_markup"] = dict(reply_markup)
    reserve_message_id(message_id)
    callback = {
        "id": str(_callback_ids.next()),
        "from": sender,
        "message": message,
        "chat_instance": f"ci-{chat['id']}",
        "data": data,
    }
    return {
        "update_id": _update_ids.next() if update_id is None else update_id,
        "callback_query": callback,
    }


def topic_message(
    chat_id: int, user_id: int, text: str, *, thread_id: int, **common: Any
) -> dict[str, Any]:
    """The ``Message`` dict of a text sent by ``user_id`` into a forum supergroup topic."""
    update = message_update(
        user_id,
        {"text": text},
        chat_id=chat_id,
        thread_id=thread_id,
        chat_type="supergroup",
        **common,
    )
    message: dict[str, Any] = update["message"]
    return message


def staff_group_update(
    chat_id: int,
    user_id: int,
    text: str | None = None,
    *,
    thread_id: int,
    content: Mapping[str, Any] | None = None,
    **common: Any,
) -> dict[str, Any]:
    """An update: a staff member writes into topic ``thread_id`` of the forum ``chat_id``.

    Give ``text`` for a text message or ``content`` for anything else (e.g.
    ``{"sticker": {...}}``); both may be combined with ``caption`` inside ``content``.
    """
    body: dict[str, Any] = dict(content or {})
    if text is not None:
        body["text"] = text
    return message_update(
        user_id, body, chat_id=chat_id, thread_id=thread_id, chat_type="supergroup", **common
    )
