"""Praise in scare quotes is a complaint: 你们的服务真是"好"啊 is not a compliment."""

from __future__ import annotations

import pytest

from intents import IntentEngine
from intents.matcher import _ironic


@pytest.mark.parametrize(
    "text",
    [
        "你们的服务真是'好'啊",  # the example
        "送得可真「快」啊,一个礼拜了",
        "真是「貼心」的服務呢",
        "客服的“专业”回答让我长见识了",
        "你哋嘅服務真係『好』",
    ],
)
def test_praise_in_scare_quotes_is_a_complaint(engine: IntentEngine, text: str) -> None:
    assert _ironic(text)
    assert engine.match(text).kind == "complaint"


@pytest.mark.parametrize(
    "text",
    [
        "你们的服务真好",  # no quotes: praise
        "客服说“好的”马上处理",  # a quoted reply is a report, not irony
        "我买的是“小米”手机",  # quotes around a name
        "“退款”在哪里申请",
    ],
)
def test_quotes_without_ironic_praise_are_not_irony(text: str) -> None:
    assert not _ironic(text)


def test_plain_praise_is_not_turned_into_a_complaint(engine: IntentEngine) -> None:
    assert engine.match("你们的服务很好,谢谢店员的耐心").kind == "feedback"
