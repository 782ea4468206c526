"""A loopback fake of the Telegram Bot API HTTP server, for end-to-end tests with real aiogram.

Map of this module:

* :class:`FakeBotAPI` - the server. ``async with FakeBotAPI(token) as api`` listens on
  ``127.0.0.1:<free port>``; point aiogram at it with
  ``AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))``.
* :class:`Call` - one recorded request (canonical method name, decoded params, outcome).
* :class:`ErrorRule` - an injected failure (see :meth:`FakeBotAPI.inject_error`).
* :func:`parse_html` - Telegram's ``parse_mode=HTML`` rules: plain text + entities, or the
  same ``400 can't parse entities`` error the real server gives (catches unescaped values).

The server answers in Telegram's envelope (``{"ok": true, "result": ...}`` or ``ok: false``
with ``error_code``/``description``/``parameters``) and with Telegram's HTTP status codes,
because aiogram picks its exception type (TelegramBadRequest, TelegramForbiddenError,
TelegramRetryAfter, ...) from those. Everything runs on the test's event loop; no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from tests.progress import Progress

from . import updates as _updates

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_USERNAME",
    "Call",
    "ErrorRule",
    "FakeBotAPI",
    "TelegramError",
    "UploadedFile",
    "parse_html",
]

BOT_FIRST_NAME = "Carebot Test"
BOT_USERNAME = "carebot_test_bot"

#: Long polls never block longer than this, whatever ``timeout`` the client asks for
#: (aiogram polls with 10-30 s): a test that forgets to stop polling finishes quickly.
DEFAULT_MAX_POLL_WAIT = 2.0

_BLOCKED = "Forbidden: bot was blocked by the user"
_THREAD_NOT_FOUND = "Bad Request: message thread not found"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a content and reply markup of the current message"
)

# Form fields are strings on the wire; these stay strings even when they look like JSON
# (a text "123" must not become the int 123). Everything else is JSON-decoded when possible.
_STRING_PARAMS = frozenset(
    {
        "action", "address", "business_connection_id", "callback_query_id", "caption",
        "custom_title", "data", "description", "document", "emoji", "file_id", "first_name",
        "foursquare_id", "icon_custom_emoji_id", "inline_message_id", "ip_address",
        "language_code", "last_name", "message_effect_id", "name", "parse_mode",
        "phone_number", "photo", "query", "secret_token", "short_description", "sticker",
        "text", "thumbnail", "title", "url", "video", "voice", "animation", "audio",
    }
)  # fmt: skip

# Message fields that carry the content, copied by copyMessage/forwardMessage.
_CONTENT_FIELDS = (
    "text", "entities", "caption", "caption_entities", "photo", "document", "sticker",
    "voice", "video", "video_note", "animation", "audio", "location", "venue", "contact",
    "poll", "dice", "link_preview_options",
)  # fmt: skip

_ICON_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class TelegramError(Exception):
    """Raised inside handlers; becomes an ``ok: false`` answer with this HTTP status."""

    def __init__(
        self, code: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = dict(parameters or {})


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (aiogram uploads ``InputFile`` this way)."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Call:
    """One request the fake answered, in arrival order.

    ``method`` is the canonical Bot API spelling (``sendMessage``) whatever case the client
    used; ``params`` are decoded (ints, bools, nested dicts), ``files`` the uploads by field.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    result: Any = None
    error_code: int | None = None
    description: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code is None


@dataclass
class ErrorRule:
    """An injected failure; ``times=None`` means every matching call, forever."""

    method: str
    code: int
    description: str
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None
    times: int | None = 1
    match: Callable[[dict[str, Any]], bool] | None = None
    hits: int = 0

    def applies(self, method: str, params: dict[str, Any]) -> bool:
        if self.method.lower() != method.lower():
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        return self.match is None or bool(self.match(params))

    def error(self) -> TelegramError:
        parameters: dict[str, Any] = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        return TelegramError(self.code, self.description, parameters)


@dataclass
class _Topic:
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False

    def as_json(self, thread_id: int) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_thread_id": thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            result["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return result


class _Signal:
    """Wakes every waiter once per ``fire``; pushes are sync, so no Condition (needs a lock)."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def fire(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float) -> None:
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


# ---------------------------------------------------------------------------------------
# parse_mode=HTML


def _utf16_len(text: str) -> int:
    # Telegram measures entity offsets in UTF-16 code units (emoji count as 2).
    return len(text.encode("utf-16-le")) // 2


_TAG_ENTITIES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "code": "code", "pre": "pre", "a": "text_link",
    "tg-spoiler": "spoiler", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
    "span": "spoiler",
}  # fmt: skip


class _HTMLEntityParser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source_lines = source.splitlines(keepends=True)
        self.text: list[str] = []
        self.length = 0
        self.stack: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        prefix = "".join(self._source_lines[: line - 1]) + self._source_lines[line - 1][:column]
        return len(prefix.encode())

    def _fail(self, reason: str) -> TelegramError:
        return TelegramError(400, f"Bad Request: can't parse entities: {reason}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag not in _TAG_ENTITIES or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            raise self._fail(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        extra: dict[str, Any] = {}
        kind = _TAG_ENTITIES[tag]
        if tag == "a":
            href = attributes.get("href", "")
            if not href:
                raise self._fail(f"Can't find end of a URL at byte offset {self._byte_offset()}")
            extra["url"] = href
        elif tag == "tg-emoji":
            extra["custom_emoji_id"] = attributes.get("emoji-id", "")
        elif tag == "blockquote" and "expandable" in attributes:
            kind = "expandable_blockquote"
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            language = attributes.get("class", "")
            if language.startswith("language-"):
                self.stack[-1][2]["language"] = language.removeprefix("language-")
        self.stack.append((tag, self.length, {"type": kind, **extra}))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise self._fail(f'Unmatched end tag at byte offset {self._byte_offset()}, "{tag}"')
        _, start, entity = self.stack.pop()
        if self.length > start:
            self.entities.append({**entity, "offset": start, "length": self.length - start})

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self.length += _utf16_len(data)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the plain text and its entities, or a 400 TelegramError."""
    parser = _HTMLEntityParser(text)
    parser.feed(text)
    parser.close()
    if parser.stack:
        tag = parser.stack[-1][0]
        raise parser._fail(f'Can\'t find end tag corresponding to start tag "{tag}"')
    # Telegram lists entities by offset, outer entity first.
    entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.text), entities


# ---------------------------------------------------------------------------------------
# the server


_Handler = Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]


class FakeBotAPI:
    """Loopback fake Bot API: records calls, queues updates, injects errors.

    State is per instance (messages, topics, members, webhook, commands), so one instance
    per test keeps tests independent. Messages the bot sends or receives (through
    :meth:`push_update`) are remembered, so copy/forward/edit/delete/reply behave like
    Telegram: unknown message ids answer 400 exactly as the real API does.
    """

    def __init__(
        self,
        token: str = "42:TEST",
        *,
        max_poll_wait: float = DEFAULT_MAX_POLL_WAIT,
        record_get_updates: bool = False,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.max_poll_wait = max_poll_wait
        # Polling calls would drown the interesting ones in api.calls; opt in if needed.
        self.record_get_updates = record_get_updates
        self.calls: list[Call] = []
        self.latency = 0.0
        self.webhook: dict[str, Any] = {"url": ""}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._errors: list[ErrorRule] = []
        self._pending: list[dict[str, Any]] = []
        self._last_update_id = 0
        self._messages: dict[int, dict[int, dict[str, Any]]] = {}
        self._last_message_id: dict[int, int] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._blocked: set[int] = set()
        self._topics: dict[int, dict[int, _Topic]] = {}
        self._deleted_threads: set[tuple[int, int]] = set()
        self._file_counter = 0
        self._closing = False
        self._updates_signal = _Signal()
        self._calls_signal = _Signal()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._handlers: dict[str, tuple[str, _Handler]] = {}
        for name, handler in self._handler_table().items():
            self._handlers[name.lower()] = (name, handler)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # Short shutdown timeout: pending long polls are woken on close anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing = True
        self._updates_signal.fire()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not running; use 'async with FakeBotAPI() as api'")
        return f"http://127.0.0.1:{self._port}"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    # -- test controls --------------------------------------------------------------------

    def push_update(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; assigns ``update_id`` if missing. Returns it."""
        queued = dict(update)
        if "update_id" not in queued:
            queued["update_id"] = self._last_update_id + 1
        self._last_update_id = max(self._last_update_id, int(queued["update_id"]))
        self._learn_update(queued)
        self._pending.append(queued)
        self._updates_signal.fire()
        return queued

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        return list(self._pending)

    def inject_error(
        self,
        method: str,
        *,
        code: int,
        description: str,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int | None = 1,
        match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> ErrorRule:
        """Fail the next ``times`` calls of ``method`` whose params satisfy ``match``.

        Rules are tried in the order they were added; the first applicable one wins.
        """
        rule = ErrorRule(
            method=method,
            code=code,
            description=description,
            retry_after=retry_after,
            migrate_to_chat_id=migrate_to_chat_id,
            times=times,
            match=match,
        )
        self._errors.append(rule)
        return rule

    def clear_errors(self) -> None:
        self._errors.clear()

    def set_blocked(self, chat_id: int, blocked: bool = True) -> None:
        """Every send to ``chat_id`` answers 403 "bot was blocked by the user"."""
        if blocked:
            self._blocked.add(chat_id)
        else:
            self._blocked.discard(chat_id)

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (load tests)."""
        self.latency = seconds

    def set_member(self, chat_id: int, user_id: int, status: str = "member") -> None:
        """getChatMember status: member, administrator, creator, left (default) or kicked."""
        if status not in {"member", "administrator", "creator", "left", "kicked"}:
            raise ValueError(f"unknown chat member status {status!r}")
        self._members[(chat_id, user_id)] = status

    def set_chat(self, chat: Mapping[str, Any]) -> None:
        """Register a Chat object (``id``, ``type``, ``title``, ``is_forum``...) for getChat."""
        self._chats[int(chat["id"])] = {**self._chats.get(int(chat["id"]), {}), **chat}

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of a known message (after edits), or None."""
        return self._messages.get(chat_id, {}).get(message_id)

    def chat_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """Known, undeleted messages of a chat, oldest first."""
        return [self._messages[chat_id][k] for k in sorted(self._messages.get(chat_id, {}))]

    def topics(self, chat_id: int) -> dict[int, dict[str, Any]]:
        """Live forum topics of a chat by thread id (deleted ones are gone)."""
        return {
            thread: {**topic.as_json(thread), "is_closed": topic.closed}
            for thread, topic in self._topics.get(chat_id, {}).items()
        }

    def calls_of(self, method: str) -> list[Call]:
        """Recorded calls of one method (case-insensitive), in order."""
        wanted = method.lower()
        return [call for call in self.calls if call.method.lower() == wanted]

    async def wait_for(
        self,
        method: str | None = None,
        count: int = 1,
        timeout: float = 5.0,
        *,
        match: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until ``count`` matching calls were recorded; returns them all.

        ``timeout`` is a stall window, not a budget (tests/progress.py): the wait goes on while
        calls keep arriving or this process keeps working, and gives up once nothing moved for
        ``timeout`` seconds - so a loaded machine is slow, not red. Failed calls (injected or
        real errors) count too - check ``Call.ok``. Raises TimeoutError listing what did
        arrive, so a failing test says why.
        """
        if not timeout or timeout <= 0:
            raise ValueError("wait_for needs a positive timeout")
        progress = Progress("fake Bot API calls", value=lambda: len(self.calls), stall=timeout)
        while True:
            found = [
                call
                for call in (self.calls if method is None else self.calls_of(method))
                if match is None or match(call)
            ]
            if len(found) >= count:
                return found
            progress.moved()
            remaining = timeout - progress.idle_seconds
            if remaining <= 0:
                seen = ", ".join(call.method for call in self.calls) or "nothing"
                raise TimeoutError(
                    f"nothing moved for {timeout}s while waiting for {count} call(s) of "
                    f"{method or 'any method'}, got {len(found)}; calls so far: {seen}"
                )
            await self._calls_signal.wait(min(remaining, 0.25))

    # -- HTTP plumbing --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        if request.match_info["token"] != self.token:
            return _error_response(TelegramError(401, "Unauthorized"))
        requested = request.match_info["method"]
        name, handler = self._handlers.get(requested.lower(), (requested, None))
        params: dict[str, Any] = {}
        files: dict[str, UploadedFile] = {}
        try:
            params, files = await _read_params(request)
            if handler is None:
                raise TelegramError(404, "Not Found: method not found")
            for rule in self._errors:
                if rule.applies(name, params):
                    rule.hits += 1
                    raise rule.error()
            result = await handler(params, files)
        except TelegramError as error:
            self._record(Call(name, params, files, None, error.code, error.description))
            return _error_response(error)
        self._record(Call(name, params, files, result))
        return web.json_response({"ok": True, "result": result})

    def _record(self, call: Call) -> None:
        if call.method == "getUpdates" and not self.record_get_updates:
            return
        self.calls.append(call)
        self._calls_signal.fire()

    def _handler_table(self) -> dict[str, _Handler]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._true,
            "close": self._true,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendSticker": self._send_sticker,
            "sendVoice": self._send_voice,
            "sendVideo": self._send_video,
            "sendLocation": self._send_location,
            "copyMessage": self._copy_message,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._true,
            "sendChatAction": self._send_chat_action,
            "createForumTopic": self._create_forum_topic,
            "editForumTopic": self._edit_forum_topic,
            "closeForumTopic": self._close_forum_topic,
            "reopenForumTopic": self._reopen_forum_topic,
            "deleteForumTopic": self._delete_forum_topic,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
        }

    # -- bookkeeping ----------------------------------------------------------------------

    def _learn_update(self, update: Mapping[str, Any]) -> None:
        # The bot can later copy, forward, reply to or edit what it received.
        for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
            if isinstance(update.get(key), Mapping):
                self._learn_message(update[key])
        callback = update.get("callback_query")
        if isinstance(callback, Mapping):
            self._learn_user(callback.get("from"))
            if isinstance(callback.get("message"), Mapping):
                self._learn_message(callback["message"])

    def _learn_user(self, user: Any) -> None:
        if isinstance(user, Mapping) and "id" in user:
            self._users[int(user["id"])] = dict(user)

    def _learn_message(self, message: Mapping[str, Any]) -> None:
        chat = message["chat"]
        chat_id = int(chat["id"])
        self._chats[chat_id] = {**self._chats.get(chat_id, {}), **chat}
        self._learn_user(message.get("from"))
        message_id = int(message["message_id"])
        self._messages.setdefault(chat_id, {})[message_id] = dict(message)
        self._last_message_id[chat_id] = max(self._last_message_id.get(chat_id, 0), message_id)
        thread_id = message.get("message_thread_id")
        if message.get("is_topic_message") and thread_id is not None:
            topic = (message.get("reply_to_message") or {}).get("forum_topic_created") or {}
            self._topics.setdefault(chat_id, {}).setdefault(
                int(thread_id),
                _Topic(
                    name=topic.get("name", "Topic"),
                    icon_color=topic.get("icon_color", _updates.DEFAULT_TOPIC_ICON_COLOR),
                ),
            )

    def _next_message_id(self, chat_id: int) -> int:
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        # Keep factory-made customer messages after (and distinct from) the bot's ones.
        _updates.reserve_message_id(message_id)
        return message_id

    def _chat_type(self, chat_id: int) -> str:
        known = self._chats.get(chat_id)
        if known and "type" in known:
            return str(known["type"])
        if chat_id > 0:
            return "private"
        return "supergroup" if str(chat_id).startswith("-100") else "group"

    def _chat_short(self, chat_id: int) -> dict[str, Any]:
        chat_type = self._chat_type(chat_id)
        known = self._chats.get(chat_id, {})
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            user = self._users.get(chat_id, {})
            chat["first_name"] = known.get("first_name", user.get("first_name", "User"))
            for key in ("last_name", "username"):
                if key in known:
                    chat[key] = known[key]
        else:
            chat["title"] = known.get("title", f"Chat {chat_id}")
            if known.get("is_forum") or (chat_type == "supergroup" and chat_id in self._topics):
                chat["is_forum"] = True
            if "username" in known:
                chat["username"] = known["username"]
        return chat

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return self.bot_user
        return self._users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "User"})

    def _stored(self, chat_id: int, message_id: int, missing: str) -> dict[str, Any]:
        message = self.message(chat_id, message_id)
        if message is None:
            raise TelegramError(400, f"Bad Request: {missing}")
        return message

    def _new_file(self, kind: str) -> dict[str, Any]:
        self._file_counter += 1
        return {
            "file_id": f"fake-{kind}-{self._file_counter}",
            "file_unique_id": f"ufake-{kind}-{self._file_counter}",
        }

    def _file_ref(
        self, params: dict[str, Any], files: dict[str, UploadedFile], key: str
    ) -> tuple[dict[str, Any], UploadedFile | None]:
        """File id fields for ``params[key]``: an attach:// upload, a URL or a file_id."""
        value = params.get(key)
        if value is None or value == "":
            raise TelegramError(400, f"Bad Request: there is no {key} in the request")
        value = str(value)
        if value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise TelegramError(400, f"Bad Request: file must be non-empty ({key})")
            return self._new_file(key), upload
        if value.startswith(("http://", "https://")):
            return self._new_file(key), None
        return {"file_id": value, "file_unique_id": f"u-{value}"}, None

    # -- sending --------------------------------------------------------------------------

    def _target_chat(self, params: dict[str, Any], key: str = "chat_id") -> int:
        chat_id = params.get(key)
        if chat_id is None or chat_id == "":
            raise TelegramError(400, f"Bad Request: {key} is empty")
        if isinstance(chat_id, str):
            # "@username" targets only work for public chats the fake never knows about.
            raise TelegramError(400, "Bad Request: chat not found")
        return int(chat_id)

    def _check_can_send(self, chat_id: int, params: dict[str, Any]) -> int | None:
        if chat_id in self._blocked:
            raise TelegramError(403, _BLOCKED)
        thread_id = params.get("message_thread_id")
        if thread_id is None:
            return None
        if (chat_id, int(thread_id)) in self._deleted_threads:
            raise TelegramError(400, _THREAD_NOT_FOUND)
        return int(thread_id)

    def _formatted(
        self, params: dict[str, Any], text_key: str, entities_key: str, limit: int
    ) -> dict[str, Any]:
        """Text or caption after parse_mode, as Telegram echoes it back."""
        raw = params.get(text_key)
        if raw is None or raw == "":
            return {}
        text = str(raw)
        entities = params.get(entities_key)
        if entities is None and str(params.get("parse_mode", "")).upper() == "HTML":
            text, entities = parse_html(text)
        # MarkdownV2 is echoed verbatim: parsing it is not worth it for these tests.
        if len(text) > limit:
            what = "message" if text_key == "text" else "message caption"
            raise TelegramError(400, f"Bad Request: {what} is too long")
        result: dict[str, Any] = {text_key: text}
        if entities:
            result[entities_key] = entities
        return result

    def _compose(
        self, chat_id: int, params: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        """Build, store and return a bot-authored Message in ``chat_id``."""
        thread_id = self._check_can_send(chat_id, params)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "date": int(time.time()),
            "chat": self._chat_short(chat_id),
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        reply_to = (params.get("reply_parameters") or {}).get("message_id") or params.get(
            "reply_to_message_id"
        )
        if reply_to is not None:
            original = self.message(chat_id, int(reply_to))
            if original is not None:
                message["reply_to_message"] = {
                    k: v for k, v in original.items() if k != "reply_to_message"
                }
            elif not (params.get("reply_parameters") or {}).get(
                "allow_sending_without_reply", params.get("allow_sending_without_reply")
            ):
                raise TelegramError(400, "Bad Request: message to be replied not found")
        message.update(content)
        markup = params.get("reply_markup")
        # Telegram only ever echoes inline keyboards; reply keyboards stay client-side.
        if isinstance(markup, Mapping) and "inline_keyboard" in markup:
            message["reply_markup"] = dict(markup)
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    async def _send_message(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(p)
        content = self._formatted(p, "text", "entities", 4096)
        if not content:
            raise TelegramError(400, "Bad Request: message text is empty")
        return self._compose(chat_id, p, content)

    async def _send_media(
        self,
        p: dict[str, Any],
        files: dict[str, UploadedFile],
        kind: str,
        build: Callable[[dict[str, Any], UploadedFile | None], Any],
    ) -> Any:
        chat_id = self._target_chat(p)
        ref, upload = self._file_ref(p, files, kind)
        content: dict[str, Any] = {kind: build(ref, upload)}
        if kind != "sticker":
            content.update(self._formatted(p, "caption", "caption_entities", 1024))
        return self._compose(chat_id, p, content)

    async def _send_photo(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        def build(ref: dict[str, Any], upload: UploadedFile | None) -> Any:
            # Telegram stores several sizes of each photo, smallest first.
            small = {**ref, "file_id": ref["file_id"] + "-s", "width": 90, "height": 67}
            return [small, {**ref, "width": 1280, "height": 960}]

        return await self._send_media(p, files, "photo", build)

    async def _send_document(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        def build(ref: dict[str, Any], upload: UploadedFile | None) -> Any:
            if upload is None:
                return ref
            return {
                **ref,
                "file_name": upload.filename,
                "mime_type": upload.content_type,
                "file_size": len(upload.data),
            }

        return await self._send_media(p, files, "document", build)

    async def _send_sticker(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        def build(ref: dict[str, Any], upload: UploadedFile | None) -> Any:
            sticker = {
                **ref, "type": "regular", "width": 512, "height": 512,
                "is_animated": False, "is_video": False,
            }  # fmt: skip
            if p.get("emoji"):
                sticker["emoji"] = p["emoji"]
            return sticker

        return await self._send_media(p, files, "sticker", build)

    async def _send_voice(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        def build(ref: dict[str, Any], upload: UploadedFile | None) -> Any:
            return {**ref, "duration": int(p.get("duration") or 1), "mime_type": "audio/ogg"}

        return await self._send_media(p, files, "voice", build)

    async def _send_video(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        def build(ref: dict[str, Any], upload: UploadedFile | None) -> Any:
            return {
                **ref,
                "width": int(p.get("width") or 640),
                "height": int(p.get("height") or 360),
                "duration": int(p.get("duration") or 1),
            }

        return await self._send_media(p, files, "video", build)

    async def _send_location(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(p)
        if p.get("latitude") is None or p.get("longitude") is None:
            raise TelegramError(400, "Bad Request: latitude and longitude are required")
        location = {"latitude": float(p["latitude"]), "longitude": float(p["longitude"])}
        return self._compose(chat_id, p, {"location": location})

    async def _send_chat_action(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self._check_can_send(self._target_chat(p), p)
        return True

    def _copied_content(self, source: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        content = {k: source[k] for k in _CONTENT_FIELDS if k in source}
        if not content:
            raise TelegramError(400, "Bad Request: message can't be copied")
        if "caption" in p and "text" not in content:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._formatted(p, "caption", "caption_entities", 1024))
        return content

    async def _copy_message(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(p)
        from_chat = self._target_chat(p, "from_chat_id")
        source = self._stored(from_chat, int(p["message_id"]), "message to copy not found")
        message = self._compose(chat_id, p, self._copied_content(source, p))
        return {"message_id": message["message_id"]}

    async def _forward_message(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(p)
        from_chat = self._target_chat(p, "from_chat_id")
        source = self._stored(from_chat, int(p["message_id"]), "message to forward not found")
        content = {k: source[k] for k in _CONTENT_FIELDS if k in source}
        sender = source.get("from")
        if isinstance(sender, Mapping):
            origin: dict[str, Any] = {"type": "user", "date": source["date"], "sender_user": sender}
        else:
            origin = {"type": "hidden_user", "date": source["date"], "sender_user_name": "Hidden"}
        content["forward_origin"] = origin
        return self._compose(chat_id, p, content)

    # -- editing --------------------------------------------------------------------------

    def _editable(self, p: dict[str, Any]) -> dict[str, Any] | None:
        """The stored message to edit, or None for inline messages."""
        if p.get("inline_message_id"):
            return None
        chat_id = self._target_chat(p)
        if p.get("message_id") is None:
            raise TelegramError(400, "Bad Request: message identifier is not specified")
        message = self._stored(chat_id, int(p["message_id"]), "message to edit not found")
        if (message.get("from") or {}).get("id") != self.bot_id:
            raise TelegramError(400, "Bad Request: message can't be edited")
        return message

    def _apply_edit(
        self, message: dict[str, Any], changes: dict[str, Any], p: dict[str, Any]
    ) -> dict[str, Any]:
        markup = p.get("reply_markup")
        new_markup = dict(markup) if isinstance(markup, Mapping) else None
        unchanged = all(message.get(k) == v for k, v in changes.items()) and (
            message.get("reply_markup") == new_markup
        )
        if unchanged:
            raise TelegramError(400, _NOT_MODIFIED)
        message.update(changes)
        # An edit without reply_markup removes the inline keyboard, as on Telegram.
        if new_markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        return message

    async def _edit_message_text(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        content = self._formatted(p, "text", "entities", 4096)
        if not content:
            raise TelegramError(400, "Bad Request: message text is empty")
        message = self._editable(p)
        if message is None:
            return True
        if "text" not in message:
            raise TelegramError(400, "Bad Request: there is no text in the message to edit")
        content.setdefault("entities", None)
        changed = self._apply_edit(message, content, p)
        if changed.get("entities") is None:
            changed.pop("entities", None)
        return changed

    async def _edit_message_caption(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        content = self._formatted(p, "caption", "caption_entities", 1024)
        message = self._editable(p)
        if message is None:
            return True
        if "text" in message:
            raise TelegramError(400, "Bad Request: there is no caption in the message to edit")
        content.setdefault("caption", None)
        content.setdefault("caption_entities", None)
        changed = self._apply_edit(message, content, p)
        for key in ("caption", "caption_entities"):
            if changed.get(key) is None:
                changed.pop(key, None)
        return changed

    async def _edit_message_reply_markup(
        self, p: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        message = self._editable(p)
        if message is None:
            return True
        return self._apply_edit(message, {}, p)

    async def _delete_message(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(p)
        message_id = int(p.get("message_id") or 0)
        self._stored(chat_id, message_id, "message to delete not found")
        del self._messages[chat_id][message_id]
        return True

    # -- forum topics ---------------------------------------------------------------------

    def _topic(self, p: dict[str, Any]) -> tuple[int, int, _Topic | None]:
        chat_id = self._target_chat(p)
        thread_id = int(p.get("message_thread_id") or 0)
        if (chat_id, thread_id) in self._deleted_threads:
            raise TelegramError(400, _THREAD_NOT_FOUND)
        return chat_id, thread_id, self._topics.get(chat_id, {}).get(thread_id)

    async def _create_forum_topic(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(p)
        known = self._chats.get(chat_id, {})
        if self._chat_type(chat_id) != "supergroup" or known.get("is_forum") is False:
            raise TelegramError(400, "Bad Request: the chat is not a forum")
        name = str(p.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise TelegramError(400, "Bad Request: TOPIC_TITLE_EMPTY" if not name else
                                "Bad Request: TOPIC_TITLE_TOO_LONG")  # fmt: skip
        color = int(p.get("icon_color") or _updates.DEFAULT_TOPIC_ICON_COLOR)
        if color not in _ICON_COLORS:
            raise TelegramError(400, "Bad Request: invalid icon_color specified")
        # A topic's id is the id of its "topic created" service message in the chat.
        thread_id = self._next_message_id(chat_id)
        topic = _Topic(name, color, p.get("icon_custom_emoji_id") or None)
        self._topics.setdefault(chat_id, {})[thread_id] = topic
        self._chats[chat_id] = {**known, "id": chat_id, "type": "supergroup", "is_forum": True}
        return topic.as_json(thread_id)

    async def _edit_forum_topic(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        _, _, topic = self._topic(p)
        if topic is not None:
            name = p.get("name") or topic.name
            emoji = p.get("icon_custom_emoji_id", topic.icon_custom_emoji_id)
            if (name, emoji) == (topic.name, topic.icon_custom_emoji_id):
                raise TelegramError(400, "Bad Request: TOPIC_NOT_MODIFIED")
            topic.name, topic.icon_custom_emoji_id = str(name), emoji or None
        return True

    async def _close_forum_topic(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return self._set_closed(p, closed=True)

    async def _reopen_forum_topic(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return self._set_closed(p, closed=False)

    def _set_closed(self, p: dict[str, Any], *, closed: bool) -> bool:
        _, _, topic = self._topic(p)
        if topic is not None:
            if topic.closed == closed:
                raise TelegramError(400, "Bad Request: TOPIC_NOT_MODIFIED")
            topic.closed = closed
        return True

    async def _delete_forum_topic(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id, thread_id, _ = self._topic(p)
        self._topics.get(chat_id, {}).pop(thread_id, None)
        self._deleted_threads.add((chat_id, thread_id))
        # Deleting a topic deletes its messages too.
        messages = self._messages.get(chat_id, {})
        for message_id in [
            k for k, m in messages.items() if m.get("message_thread_id") == thread_id
        ]:
            del messages[message_id]
        return True

    # -- chats and members ----------------------------------------------------------------

    async def _get_chat(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(p)
        return {
            **self._chat_short(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member(self, chat_id: int, user_id: int, status: str) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": self._user(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = (
                "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_change_info", "can_invite_users",
                "can_post_stories", "can_edit_stories", "can_delete_stories",
                "can_pin_messages", "can_manage_topics", "can_send_welcome_messages",
            )  # fmt: skip
            member.update(dict.fromkeys(rights, True))
            member.update(can_be_edited=False, is_anonymous=False, can_promote_members=False)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _get_chat_member(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(p)
        user_id = self._target_chat(p, "user_id")
        return self._member(chat_id, user_id, self._members.get((chat_id, user_id), "left"))

    async def _get_chat_administrators(
        self, p: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat_id = self._target_chat(p)
        if self._chat_type(chat_id) == "private":
            raise TelegramError(400, "Bad Request: there are no administrators in the private chat")
        return [
            self._member(chat_id, user_id, status)
            for (member_chat, user_id), status in self._members.items()
            if member_chat == chat_id and status in {"creator", "administrator"}
        ]

    # -- bot-level methods ----------------------------------------------------------------

    async def _true(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return True

    async def _get_me(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        if self.webhook["url"]:
            raise TelegramError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        if offset > 0:
            # An offset confirms (forgets) every update before it.
            self._pending = [u for u in self._pending if int(u["update_id"]) >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(timeout, self.max_poll_wait)
        while not self._pending and not self._closing:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._updates_signal.wait(remaining)
        return self._pending[:limit]

    async def _set_webhook(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        url = str(p.get("url") or "")
        if url and not url.startswith("https://"):
            raise TelegramError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {
            "url": url,
            "max_connections": int(p.get("max_connections") or 40),
            "allowed_updates": p.get("allowed_updates"),
            "secret_token": p.get("secret_token"),
        }
        return True

    async def _delete_webhook(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = {"url": ""}
        return True

    async def _get_webhook_info(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook["url"]:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    @staticmethod
    def _commands_key(p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")

    async def _set_my_commands(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise TelegramError(400, "Bad Request: commands must be an array of BotCommand")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise TelegramError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise TelegramError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(p)] = [dict(c) for c in commands]
        return True

    async def _get_my_commands(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return self.commands.get(self._commands_key(p), [])

    async def _delete_my_commands(self, p: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self.commands.pop(self._commands_key(p), None)
        return True


def _error_response(error: TelegramError) -> web.Response:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": error.code,
        "description": error.description,
    }
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.code)


def _decode(key: str, value: Any) -> Any:
    """Turn a wire string into the JSON value Telegram would read from it."""
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id "@channel": a plain string after all


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Params from the query string plus a JSON, urlencoded or multipart body."""
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
    files: dict[str, UploadedFile] = {}
    if request.content_type == "application/json":
        try:
            body = await request.json() if request.body_exists else {}
        except ValueError as exc:
            raise TelegramError(400, "Bad Request: can't parse JSON object") from exc
        if not isinstance(body, dict):
            raise TelegramError(400, "Bad Request: can't parse JSON object")
        for key, value in body.items():
            # Nested objects may still arrive JSON-encoded inside a JSON body.
            is_json_text = isinstance(value, str) and value[:1] in ("{", "[")
            params[key] = _decode(key, value) if is_json_text else value
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                with value.file:  # a spooled temp file: close it or it warns
                    data = value.file.read()
                files[key] = UploadedFile(key, value.filename, value.content_type, data)
            else:
                params[key] = _decode(key, value)
    return params, files
