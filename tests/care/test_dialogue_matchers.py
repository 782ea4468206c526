"""The conversation's small matchers (care.desk.dialogue, care.desk.details), case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from care.desk.details import extract
from care.desk.dialogue import Dialogue, act, is_angry, is_praise, is_suggestion


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("还有人吗", "waiting"),
        ("人呢？", "waiting"),
        ("快点,我等不及了", "waiting"),
        ("还要等多久", "waiting"),
        ("?", "waiting"),
        ("？？", "waiting"),
        ("還有人嗎?", "waiting"),
        ("有冇人呀", "waiting"),
        ("快啲啦", "waiting"),
        ("anyone there?", "waiting"),
        ("any update?", "waiting"),
        ("谢谢", "thanks"),
        ("好的，谢谢你", "thanks"),
        ("唔該晒", "thanks"),
        ("多謝", "thanks"),
        ("Thank you very much!", "thanks"),
        ("🙏", "thanks"),
        ("好的", "ok"),
        ("收到", "ok"),
        ("得啦", "ok"),
        ("OK", "ok"),
        ("👍", "ok"),
        ("Okay, I will wait", "ok"),
        ("拜拜", "bye"),
        ("再見", "bye"),
        ("bye", "bye"),
        ("你好", None),
        ("我的快递三天还没到", None),
        ("谢谢你们的服务很差", None),
        ("请问你们几点关门", None),
        ("SF1234567890", None),
        ("no", None),
    ],
)
def test_act(text: str, expected: str | None) -> None:
    assert act(text) == expected


def test_long_messages_are_never_small_talk() -> None:
    assert act("谢谢" * 20) is None
    assert act("thanks " * 12) is None


@pytest.mark.parametrize(
    ("text", "praise"),
    [
        ("你们的服务很好,店员很热情", True),
        ("你哋啲店員好好人，服務好好", True),
        ("great service, love it", True),
        ("服务不错，但是希望能增加晚上的营业时间", False),
        ("建议你们增加晚上的营业时间", False),
        ("I suggest you open later on weekends", False),
    ],
)
def test_praise_and_suggestion(text: str, praise: bool) -> None:
    assert is_praise(text) is praise
    if not praise:
        assert is_suggestion(text)


@pytest.mark.parametrize(
    ("text", "angry"),
    [
        ("都三天了还没人理我!!!", True),
        ("你们太差劲了", True),
        ("This is ridiculous", True),
        ("都三天了还没人理我", False),
        ("My parcel is late", False),
    ],
)
def test_anger(text: str, angry: bool) -> None:
    assert is_angry(text) is angry


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("订单号是 SF1234567890", "orders", "SF1234567890"),
        ("my order number is 12345678", "orders", "12345678"),
        ("單號：7788123，仲未到", "orders", "7788123"),
        ("单号12345678仲未到", "orders", "12345678"),
        ("Tracking number: 1Z999AA10123456784", "orders", "1Z999AA10123456784"),
        ("电话 13812345678", "phones", "13812345678"),
        ("call me at +852 9123 4567", "phones", "+852 9123 4567"),
        ("我電話 91234567", "phones", "91234567"),
        ("花了 ¥1,299", "amounts", "¥1,299"),
        ("I paid $45.90", "amounts", "$45.90"),
        ("退咗 50蚊", "amounts", "50蚊"),
        ("2026-11-28 买的", "dates", "2026-11-28"),
        ("3月5日下的单", "dates", "3月5日"),
        ("ordered on 28 Nov", "dates", "28 Nov"),
        ("昨天到的", "dates", "昨天"),
    ],
)
def test_details(text: str, field: str, value: str) -> None:
    found = extract(text)
    assert value in getattr(found, field), found
    assert found.found


def test_a_phone_is_not_an_order_number_and_nothing_is_found_in_plain_words() -> None:
    found = extract("电话 13812345678")
    assert found.orders == () and found.phones == ("13812345678",)
    assert not extract("我的快递三天还没到,太慢了").found
    assert extract(None, photos=2).photos == 2


def test_dialogue_round_trips_and_forgets_a_closed_ticket() -> None:
    now = datetime(2026, 11, 23, 2, tzinfo=UTC)
    dialogue = Dialogue()
    dialogue.follow("C-1")
    dialogue.complaints, dialogue.raised = 3, True
    for n in range(20):
        dialogue.heard(f"in{n}", now)
    dialogue.answered("complaint.repeat", "details", now)
    again = Dialogue.from_data(dialogue.to_data())
    assert again == dialogue and len(again.turns) == 8
    assert again.in_context(now + timedelta(minutes=29))
    assert not again.in_context(now + timedelta(minutes=31))
    again.follow("C-2")
    assert (again.complaints, again.raised) == (0, False)
    assert Dialogue.from_data("garbage") == Dialogue()
    assert Dialogue.from_data({"complaints": "x"}) == Dialogue()
