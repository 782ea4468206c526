"""Every derived zh-Hant text, rendered in every variant, against the reviewed OpenCC fixes."""

from __future__ import annotations

import pytest

from care.runtime.settings import BUNDLED_SCRIPTS_DIR
from scripts import TRADITIONAL_VARIANTS, ScriptLibrary
from scripts._lint import SAMPLE_VALUES
from scripts._render import variant_source
from scripts._templates import html_to_plain, render_html, to_traditional, traditional_fixes

#: Traditional characters OpenCC produces for a simplified character that usually means
#: something else (并 -> 併 not 並, 后 -> 后 not 後, 发 -> 髮 not 發, 干 -> 乾/幹 not 干,
#: 表 -> 錶, 钟 -> 鍾, 面 -> 麪, 才 -> 纔, 向 -> 嚮, 出 -> 齣, 借 -> 藉, 搜 -> 蒐, 克 -> 剋,
#: 闲 -> 閒, 彩 -> 綵, 汇 -> 彙): each use must be reviewed in traditional_fixes.tsv.
WATCHED = "併后髮乾幹錶鍾麪纔嚮齣藉蒐剋閒綵彙"


def _derived() -> list[tuple[str, str, str]]:
    """(script id, variant, rendered plain text) for every script whose zh-Hant is derived."""
    library = ScriptLibrary.load([BUNDLED_SCRIPTS_DIR])
    found = []
    for script_id, script in sorted(library.scripts.items()):
        if "zh-Hant" in script.templates or "zh-Hans" not in script.templates:
            continue
        for variant in TRADITIONAL_VARIANTS:
            source, language = variant_source(script, "zh-Hant", "zh-Hans", variant)
            assert language == "zh-Hant"
            plain = html_to_plain(render_html(source, SAMPLE_VALUES["zh-Hant"]))
            found.append((script_id, variant, plain))
    return found


DERIVED = _derived()


def test_there_are_derived_texts_to_check() -> None:
    assert len({script_id for script_id, _, _ in DERIVED}) > 100


@pytest.mark.parametrize(("script_id", "variant", "text"), DERIVED, ids=lambda v: str(v)[:40])
def test_no_known_mistake_and_every_watched_character_reviewed(
    script_id: str, variant: str, text: str
) -> None:
    fixes = traditional_fixes()
    for wrong, right in fixes:
        if wrong != right:
            assert wrong not in text, f"{script_id} ({variant}): {wrong} should be {right}"
    reviewed = [right for _, right in fixes]
    for position, char in enumerate(text):
        if char not in WATCHED:
            continue
        covered = any(
            text[position - k : position - k + len(phrase)] == phrase
            for phrase in reviewed
            for k, letter in enumerate(phrase)
            if letter == char and position >= k
        )
        context = text[max(0, position - 4) : position + 5]
        assert covered, (
            f"{script_id} ({variant}): OpenCC wrote {char} in {context!r}; review it and add a "
            "row to scripts/traditional_fixes.tsv"
        )


@pytest.mark.parametrize(("script_id", "variant", "text"), DERIVED, ids=lambda v: str(v)[:40])
def test_each_variant_keeps_its_own_forms(script_id: str, variant: str, text: str) -> None:
    # Taiwan writes 裡 and 著, Hong Kong 裏 and 着: a derived text never mixes them.
    other = {"tw": "裏着", "hk": "裡著", "standard": "裡著"}[variant]
    assert not set(text) & set(other), f"{script_id} ({variant}): {text}"


def test_the_gold_mid_autumn_greeting_says_bing_and() -> None:
    texts = {variant: text for sid, variant, text in DERIVED if sid == "greeting.mid_autumn.gold"}
    assert set(texts) == set(TRADITIONAL_VARIANTS)
    for text in texts.values():
        assert "並為您送上" in text or "並爲您送上" in text, text
        assert "併" not in text


def test_fixes_apply_to_any_text_and_leave_correct_uses() -> None:
    assert to_traditional("我们一并核实，并为您送上尺码表", "tw") == "我們一併核實，並為您送上尺碼表"
    assert to_traditional("合并为一张订单", "tw") == "合併為一張訂單"  # 合併 "merge" stays
