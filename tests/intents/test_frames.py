"""A question's frame (请问 / 想問下 / can you tell me) does not hide its topic from the FAQ."""

from __future__ import annotations

import pytest

from intents import IntentEngine, normalize
from intents.frames import strip_frames


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("想問下點樣改地址?", "点样改地址"),
        ("不好意思想請教一下運費", "运费"),
        ("唔該問下呢個點用㗎", "呢个点用㗎"),
        ("Hi, can you tell me how long shipping takes?", "how long shipping takes"),
        ("请问一下下单后多久发货", "下单后多久发货"),  # 下单 is a word, not a frame
        ("一下单就取消了", "一下单就取消了"),
        ("history of my orders", "history of my orders"),  # "hi" only as a whole word
        ("请问", "请问"),  # only a frame: stays a bare inquiry
    ],
)
def test_strip_frames(text: str, topic: str) -> None:
    assert strip_frames(normalize(text)) == topic


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # Written for this test, not catalog examples: the frame scored as a generic inquiry
        # (the clarify menu) before, though the bare topic names the FAQ.
        ("想问一下运费怎么算", "faq.shipping_fee"),
        ("想問一下運費怎麼算", "faq.shipping_fee"),
        ("請問點樣改收貨地址", "faq.order_change_address"),
        ("Hi, can you tell me how long shipping takes?", "faq.shipping_time"),
    ],
)
def test_a_framed_question_gets_its_faq(engine: IntentEngine, text: str, intent: str) -> None:
    assert engine.match(text).intent == intent


@pytest.mark.parametrize("text", ["请问", "想問下", "我想咨询一下你们的服务", "can you tell me"])
def test_a_bare_frame_is_no_faq(engine: IntentEngine, text: str) -> None:
    assert engine.match(text).kind in ("inquiry", None)  # the clarify question or the menu


def test_complaint_still_beats_a_framed_inquiry(engine: IntentEngine) -> None:
    assert engine.match("请问为什么还没退款?!").kind == "complaint"
