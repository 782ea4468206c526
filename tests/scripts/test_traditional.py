"""Every derived zh-Hant text, rendered in every variant, against the reviewed OpenCC fixes."""

from __future__ import annotations

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


def _mistakes(script_id: str, variant: str, text: str) -> list[str]:
    fixes = traditional_fixes()
    found = [
        f"{script_id} ({variant}): {wrong} should be {right}"
        for wrong, right in fixes
        if wrong != right and wrong in text
    ]
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
        if not covered:
            context = text[max(0, position - 4) : position + 5]
            found.append(
                f"{script_id} ({variant}): OpenCC wrote {char} in {context!r}; review it and "
                "add a row to scripts/traditional_fixes.tsv"
            )
    # Taiwan writes 裡 and 著, Hong Kong 裏 and 着: a derived text never mixes them.
    other = {"tw": "裏着", "hk": "裡著", "standard": "裡著"}[variant]
    if set(text) & set(other):
        found.append(f"{script_id} ({variant}) mixes variants: {text}")
    return found


def test_no_known_mistake_and_every_watched_character_reviewed() -> None:
    found = [line for item in DERIVED for line in _mistakes(*item)]
    assert not found, "\n".join(found)


def test_the_check_finds_what_it_is_for() -> None:
    assert _mistakes("x", "tw", "中秋快樂，併為您送上月餅")[0] == "x (tw): 併為您 should be 並為您"
    assert "OpenCC wrote 髮" in _mistakes("x", "tw", "理髮")[0]
    assert _mistakes("x", "tw", "我們一併核實") == []
    assert "mixes variants" in _mistakes("x", "hk", "這裡")[0]


def test_the_gold_mid_autumn_greeting_says_bing_and() -> None:
    texts = {variant: text for sid, variant, text in DERIVED if sid == "greeting.mid_autumn.gold"}
    assert set(texts) == set(TRADITIONAL_VARIANTS)
    for text in texts.values():
        assert "並為您送上" in text or "並爲您送上" in text, text
        assert "併" not in text


def test_fixes_apply_to_any_text_and_leave_correct_uses() -> None:
    fixed = to_traditional("我们一并核实，并为您送上尺码表", "tw")
    assert fixed == "我們一併核實，並為您送上尺碼表"
    assert to_traditional("合并为一张订单", "tw") == "合併為一張訂單"  # 合併 "merge" stays
