"""IntentEngine: the decisions the conversation relies on, bad input, the Match contract."""

from __future__ import annotations

import dataclasses
import time

import pytest

from intents import IntentEngine, Match


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("为什么还没退款?!", "complaint"),
        ("我的快递三天还没到,太慢了", "complaint"),
        ("请问你们几点关门", "faq.hours"),
        ("請問你們幾點關門", "faq.hours"),
        ("how late are you open", "faq.hours"),
        ("我要投诉", "complaint"),
        ("your service is terrible", "complaint"),
        ("退款什么时候到账", "faq.refund_status"),
        ("where is my order", "faq.delivery_status"),
        ("谢谢你们,服务很好", "feedback"),
        ("你好", "greeting"),
        ("hello", "greeting"),
        ("转人工", "handoff"),
        ("talk to a human", "handoff"),
        ("can i pay with apple pay", "faq.payment_methods"),
    ],
)
def test_decisions(engine: IntentEngine, text: str, intent: str) -> None:
    assert engine.match(text).intent == intent


def test_complaint_beats_inquiry_on_the_same_subject(engine: IntentEngine) -> None:
    match = engine.match("为什么还没退款?!")
    assert match.kind == "complaint"
    assert match.script == "complaint.ack"
    assert match.runner_up is not None and match.runner_up != "complaint"


def test_match_fields(engine: IntentEngine) -> None:
    match = engine.match("请问你们几点关门")
    assert match == Match(
        intent="faq.hours",
        kind="faq",
        coarse="inquiry",
        score=match.score,
        runner_up=match.runner_up,
        runner_up_score=match.runner_up_score,
        script="faq.hours",
    )
    assert 0 <= match.runner_up_score <= match.score <= 100
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.intent = "x"  # type: ignore[misc]


def test_coarse_of_conversation_controls(engine: IntentEngine) -> None:
    assert engine.match("你好").coarse is None
    assert engine.match("人工客服").coarse is None
    assert engine.match("我要投诉").coarse == "complaint"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "😀😀😀",
        "12345678",
        "x" * 10_000,
        "今天天气怎么样",
        "asdfghjkl qwerty",
        "\x00\x01\x02\u200b\ufeff",
        "what's the capital of france",
    ],
)
def test_bad_or_off_topic_input_is_none(engine: IntentEngine, text: str) -> None:
    match = engine.match(text)
    assert match.intent is None
    assert match.kind is None and match.script is None and match.coarse is None


@pytest.mark.parametrize(
    "text",
    [
        "我的order还没到,太慢了!!",
        "退款 refund 还没到 why",
        "投诉" * 5000,
        "\t\n请问\x07几点\x1b关门\r\n",
        "ＷＨＥＲＥ　ＩＳ　ＭＹ　ＯＲＤＥＲ",
        "🙂 hello 🙂",
    ],
)
def test_odd_input_never_raises(engine: IntentEngine, text: str) -> None:
    match = engine.match(text)
    assert isinstance(match, Match)
    assert 0 <= match.score <= 100


def test_long_text_is_fast(engine: IntentEngine) -> None:
    text = "我的快递还没到" * 2000
    start = time.perf_counter()
    engine.match(text)
    assert time.perf_counter() - start < 0.2
