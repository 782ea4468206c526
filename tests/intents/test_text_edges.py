"""Text the bot receives may be broken Unicode or carry NULs: normalise and detect anyway."""

from __future__ import annotations

import pytest

from intents import detect_language, normalize, to_simplified, well_formed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好\ud83d", "你好\ufffd"),
        ("\udc00x", "\ufffdx"),
        ("a\ud83d\ude00b", "a😀b"),  # a pair split by JSON decoding is joined again
        ("plain", "plain"),
        ("投诉", "投诉"),
    ],
)
def test_well_formed_repairs_surrogates(text: str, expected: str) -> None:
    assert well_formed(text) == expected
    well_formed(text).encode("utf-8")


def test_normalize_survives_lone_surrogates_and_nuls() -> None:
    assert normalize("你好\ud83d") == "你好"
    assert normalize("我要投訴\x00") == "我要投诉"
    assert normalize("\x00請問\x00幾點") == "请问几点"


def test_to_simplified_keeps_text_after_a_nul() -> None:
    assert to_simplified("頭\x00髮") == "头\x00发"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我要投诉\x00", "zh-Hans"),
        ("\x00我要投诉", "zh-Hans"),
        ("我要投訴\x00", "zh-Hant"),
        ("你好\ud83d", "zh-Hans"),
        ("hello\x00", "en"),
        ("\ud83d", "zh-Hans"),
    ],
)
def test_detect_language_ignores_nuls_and_broken_surrogates(text: str, expected: str) -> None:
    assert detect_language(text) == expected
