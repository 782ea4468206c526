"""Fuzz the customer text path: any text through the real dispatcher gets an answer."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest
from hypothesis import example, given, settings

from care.runtime.services import Services
from intents import detect_language, normalize, squash, to_simplified, well_formed
from scripts import Guard, load_forbidden
from tests.bot.chat import Chat, plain
from tests.fuzz.strategies import any_text, customer_text
from tests.scripts.conftest import FORBIDDEN

GUARD = Guard(load_forbidden(FORBIDDEN), normalize=normalize)
_CUSTOMERS = itertools.count(10_000)


@pytest.fixture
async def chat(services: Services) -> AsyncIterator[Chat]:
    talk = Chat(services, user_id=777)
    try:
        yield talk
    finally:
        await talk.close()


@settings(max_examples=25)  # each example is a full update through the database
@given(text=customer_text)
@example(text="你好\ud83d")  # issue 11: a lone surrogate got no reply
@example(text="我的快递三天还没到,太慢了\x00")  # a trailing NUL flipped the reply to Traditional
@example(text="\x00")
@example(text="{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}")
@example(text="/start \ud800")
async def test_every_message_gets_an_answer(chat: Chat, text: str) -> None:
    chat.user_id = next(_CUSTOMERS)  # a new customer each time: no flood limit, no open flow
    sent = await chat.say(text)
    assert sent, f"no reply to {text!r}"
    for message in sent:
        message.text.encode("utf-8")  # sendable: valid UTF-8 only
        assert plain(message)


@settings(max_examples=15)
@given(text=customer_text)
@example(text="\ud83d")
@example(text="\x00" * 3)
async def test_buttons_and_commands_survive_any_text(chat: Chat, text: str) -> None:
    chat.user_id = next(_CUSTOMERS)
    assert await chat.say("/start " + text)
    assert await chat.press("menu:" + text[:40]) is not None


@given(text=any_text)
@example(text="你好\ud83d")
@example(text="投訴\x00")
@example(text="\udfff\ud800")
def test_normalisation_never_raises_and_is_valid_unicode(text: str) -> None:
    for result in (normalize(text), squash(text), to_simplified(text), well_formed(text)):
        result.encode("utf-8")
    assert normalize(normalize(text)) == normalize(text)
    assert detect_language(text) in ("zh-Hans", "zh-Hant", "en")
    assert detect_language(text + "\x00") == detect_language(text)


@given(text=customer_text)
@example(text="这是公司的规定\ud83d")
@example(text="\x00这是\x00公司的\x00规定")
def test_guard_check_gives_a_verdict_for_any_text(text: str) -> None:
    verdict = GUARD.check(text)
    assert isinstance(verdict.allowed, bool)
    if not verdict.allowed:
        assert verdict.phrase and verdict.reason
