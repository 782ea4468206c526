"""The forbidden-phrase guard: the issue's examples and the precision/recall sets."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from intents import normalize
from scripts import Embed, ForbiddenPhrase, Guard, LibraryError, ScriptLibrary, load_forbidden
from scripts._gate import risk_terms, terms
from tests.scripts.conftest import CONTEXT, FORBIDDEN, data_lines

NORMAL = data_lines("guard_normal_replies.txt")
DISGUISED = data_lines("guard_disguised.txt")

REQUIRED_PHRASES = [
    "这是公司的规定", "我无能为力", "这不是我们的责任", "这不归我管", "你去找别的部门",
    "你自己看说明书", "我不知道", "不可能", "这个问题我已经说过了", "你到底想怎么样",
    "我们一直都是这样的", "你先听我说", "that's company policy", "there's nothing i can do",
    "not our responsibility", "not my department", "read the manual", "calm down",
    "i already told you",
]  # fmt: skip


def test_issue_examples(guard: Guard) -> None:
    blocked = guard.check("这是公司的规定，我也没办法")
    assert not blocked.allowed
    assert blocked.phrase and blocked.reason and blocked.suggestion
    assert guard.check("非常抱歉给您带来不便，我们马上为您处理").allowed


def test_default_list_covers_the_classics() -> None:
    phrases = {phrase.phrase for phrase in load_forbidden(FORBIDDEN)}
    assert set(REQUIRED_PHRASES) <= phrases
    assert all(p.reason and p.suggestion for p in load_forbidden(FORBIDDEN))


def test_sets_are_big_enough() -> None:
    assert len(NORMAL) >= 100
    assert len(DISGUISED) >= 50


def test_no_false_positive_on_normal_replies(guard: Guard) -> None:
    flagged = [(line, guard.check(line).phrase) for line in NORMAL if not guard.check(line).allowed]
    assert flagged == []


def test_no_miss_on_disguised_variants(guard: Guard) -> None:
    missed = [line for line in DISGUISED if guard.check(line).allowed]
    assert missed == []


def test_no_false_positive_on_bundled_scripts(bundled: ScriptLibrary, guard: Guard) -> None:
    from scripts import Renderer

    renderer = Renderer(bundled, guard)
    for script_id, script in bundled.scripts.items():
        if not script.servable:
            continue  # drafts: the lint test checks their text against the guard
        for language in ("zh-Hans", "zh-Hant", "en"):
            context = {name: CONTEXT[language][name] for name in script.variables}
            rendered = renderer.render(script_id, language, context)
            assert not rendered.blocked, (script_id, language)
            assert guard.check(rendered.plain).allowed


@pytest.mark.parametrize(
    "text",
    ["这是我们的责任", "我去找别的部门帮您确认", "不知道您是否方便", "we know a way", "并非不可能"],
)
def test_meaning_changes_are_not_flagged(guard: Guard, text: str) -> None:
    assert guard.check(text).allowed


def test_empty_and_symbol_only_text_is_allowed(guard: Guard) -> None:
    assert guard.check("").allowed
    assert guard.check("😀😀!!").allowed


def test_allow_column(tmp_path: Path) -> None:
    path = tmp_path / "f.tsv"
    path.write_text("不可能\t否定客户\t我们马上核实\t并非不可能\n", encoding="utf-8")
    guard = Guard.from_file(path, normalize)
    assert guard.check("这并非不可能").allowed
    assert not guard.check("这不可能，也并非不可能").allowed


@pytest.mark.parametrize(
    ("content", "lines"),
    [
        ("# comment\nphrase\treason\tsuggestion\nonly one column\n", [3]),
        ("phrase\treason\tsuggestion\tbogus\nok\tr\ts\n", [1]),  # unknown column
        ("a\tb\tc\td\te\tf\tg\n", [1]),  # more columns than there are
    ],
)
def test_malformed_rows_are_reported_with_file_and_line(
    tmp_path: Path, content: str, lines: list[int]
) -> None:
    path = tmp_path / "f.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LibraryError) as caught:
        load_forbidden(path)
    assert [p.line for p in caught.value.problems] == lines
    assert str(caught.value.problems[0]).startswith(f"{path}:{lines[0]}:")


def test_guard_hot_reload_keeps_last_good_list(tmp_path: Path) -> None:
    path = tmp_path / "f.tsv"
    path.write_text("calm down\tdismissive\tI understand\n", encoding="utf-8")
    guard = Guard.from_file(path, normalize)
    assert not guard.check("please calm down").allowed

    path.write_text("broken row\n", encoding="utf-8")
    problems = guard.reload()
    assert problems and problems[0].line == 1
    assert not guard.check("please calm down").allowed

    path.write_text(
        "read the manual\tcondescending\tLet me walk you through it\n", encoding="utf-8"
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert guard.reload() == []
    assert guard.check("please calm down").allowed
    assert not guard.check("Read the manual!").allowed


def test_guard_from_phrases_without_file() -> None:
    guard = Guard([ForbiddenPhrase("这是公司的规定", "r", "s")], normalize=normalize)
    assert guard.source_files() == [] and guard.reload() == []
    assert not guard.check("這 是 公 司 的 規 定").allowed


@pytest.mark.parametrize("written", ["你著什麼急", "你着什麼急", "你着什么急"])
def test_taiwan_hong_kong_and_simplified_forms_meet_one_phrase(written: str) -> None:
    # Staff in Taipei type 著, in Hong Kong 着; the list holds the Simplified phrase.
    guard = Guard([ForbiddenPhrase("你着什么急", "impatient", "请您放心")], normalize=normalize)
    assert not guard.check(f"好的，{written}，马上处理").allowed


# -- v2: disguises, filler, Cantonese, pinyin, context (issue 14) -------------------------


@pytest.mark.parametrize(
    "text",
    [
        "不\u263a\ufe0f可能",  # emoji carrying VS16
        "calm \u2764\ufe0f down",
        "c\u0430lm down",  # Cyrillic а
        "\u03bfk, c\u0251lm d\u03bfwn",  # Greek ο, Latin alpha
        "不\u0301可能",  # combining acute on a Han character
        "不\uff70可能",  # half-width katakana long-vowel mark
        "不\u200b可\u200d能",  # zero-width space / joiner
        "不\u00ad可\u2066能\u2069",  # soft hyphen, bidi isolates
        "calm\U000e0041 down",  # tag character
        "我1\ufe0f\u20e3不知道。",  # keycap
        "ｃａｌｍ　ｄｏｗｎ",  # full-width
        "我无能为\u30ab",  # katakana カ imitating 力
        "C\u0336a\u0336l\u0336m\u0336 down",  # strikethrough combining marks
    ],
)
def test_invisible_and_look_alike_code_points_do_not_hide_a_phrase(guard: Guard, text: str) -> None:
    assert not guard.check(text).allowed, text


@pytest.mark.parametrize(
    "text",
    [
        "我也没有办法", "这个不归我管", "我真的无能为力", "我们也无能为力", "这是我们公司的规定",
        "我也不知道。", "I do not know.", "It's our policy.", "There's really nothing I can do.",
        "I have already told you.", "Please just calm down.",
    ],
)  # fmt: skip
def test_inserted_filler_words_do_not_hide_a_phrase(guard: Guard, text: str) -> None:
    assert not guard.check(text).allowed, text


@pytest.mark.parametrize(
    "text",
    ["唔關我事", "我都冇辦法", "呢個係公司規定", "Ask someone else.", "I told you already",
     "idk", "wo ye mei banfa", "我不知到。", "这是公司的规订"],
)  # fmt: skip
def test_cantonese_english_classics_homophones_and_pinyin(guard: Guard, text: str) -> None:
    assert not guard.check(text).allowed, text


@pytest.mark.parametrize(
    "text",
    [
        "我不知道该如何表达歉意",
        "我不知道您已经等了这么久，真的非常抱歉",
        "这不可能是您的错，我们来处理",
        "没有什么是不可能的，我们一起想办法",
        "我们一直都是这样做的：先赔付，后调查",
        "这在公司规定的范围内，可以为您办理",
        "您自己看说明书可能不太方便，我把步骤发给您",
        "The storm should calm down by tomorrow",
        "Company policy allows free returns within 30 days, so I've started yours",
        "I already told your driver to call you",
        "If possible, let us know 2 hours in advance.",
        "It's not your fault at all, and we'll cover the return postage.",
    ],
)
def test_helpful_mentions_of_trigger_words_pass(guard: Guard, text: str) -> None:
    verdict = guard.check(text)
    assert verdict.allowed, (text, verdict.matched)


def test_a_phrase_that_ends_its_clause_still_blocks(guard: Guard) -> None:
    # "我不知道…" in the allow column: fine when the clause goes on, not when it ends there
    assert guard.check("我不知道您等了这么久").allowed
    assert not guard.check("我不知道，您问问别人").allowed
    assert not guard.check("不，可，能！").allowed


def test_verdict_names_what_fired_where_and_what_to_say(guard: Guard) -> None:
    verdict = guard.check("您好，收到。我们也真的没有办法，系统就是这样。")
    assert not verdict.allowed and verdict.layer == "lexical" and verdict.score is None
    assert verdict.phrase == "我也没办法"
    assert verdict.clause == "我们也真的没有办法，"
    assert verdict.suggestion and "想办法" in verdict.suggestion
    assert "我也没办法" in verdict.explain() and verdict.clause in verdict.explain()
    variant = guard.check("Honestly, that's on you.")
    assert variant.matched == "that's on you" and variant.phrase == "not our responsibility"
    assert "that's on you" in variant.explain() and "not our responsibility" in variant.explain()
    assert guard.check("谢谢").explain() == "allowed"


def test_lone_surrogates_are_checked_not_crashed_on(guard: Guard) -> None:
    assert not guard.check("calm down \udcff").allowed
    assert guard.check("thank you \udcff").allowed


def test_columns_allow_variants_examples_and_header_order(tmp_path: Path) -> None:
    path = tmp_path / "f.tsv"
    path.write_text(
        "phrase\treason\tsuggestion\tvariants\tallow\n"
        "我不管\t推卸\t我来跟进\t不关我事|not my business\t我不管多晚都会\n"
        "亲\t太随意\t您好\n",
        encoding="utf-8",
    )
    phrases = load_forbidden(path)
    assert phrases[0].variants == ("不关我事", "not my business")
    assert phrases[0].allow == ("我不管多晚都会",) and phrases[0].examples == ()
    assert phrases[1].line == 3 and phrases[1].allow == ()
    guard = Guard(phrases, normalize)
    assert not guard.check("唔關我事").allowed
    assert guard.check("我不管多晚都会等您").allowed
    assert not guard.check("亲，在的").allowed


# -- the semantic layer, with a stand-in encoder ------------------------------------------

_TOPICS = ("rules", "refuse", "sorry", "refund")


def _topic_embed(calls: list[list[str]]) -> Embed:
    """Texts -> one-hot rows by keyword: a stand-in for a sentence encoder."""

    def embed(texts: Sequence[str]) -> np.ndarray:
        calls.append(list(texts))
        rows = np.zeros((len(texts), len(_TOPICS) + 1), dtype=np.float32)
        for row, text in enumerate(texts):
            hits = [i for i, topic in enumerate(_TOPICS) if topic in text.lower()]
            for i in hits or [len(_TOPICS)]:
                rows[row, i] = 1.0
            rows[row] /= np.linalg.norm(rows[row])
        return rows

    return embed


def test_semantic_layer_blocks_a_paraphrase_and_names_the_meaning() -> None:
    calls: list[list[str]] = []
    phrase = ForbiddenPhrase(
        "i refuse to help", "hiding", "explain", allow=("refund rules let us help",),
        examples=("the rules say no",),
    )  # fmt: skip
    guard = Guard([phrase], normalize, embed=_topic_embed(calls), threshold=0.9, margin=0.05)
    assert guard.mode == "lexical+semantic"
    verdict = guard.check("Thanks for waiting. Rules are rules!")
    assert not verdict.allowed and verdict.layer == "semantic"
    assert verdict.phrase == "i refuse to help" and verdict.matched == "the rules say no"
    assert verdict.clause == "Rules are rules!" and verdict.score == pytest.approx(1.0)
    # closer to an allowed context than to the forbidden meaning: passes
    assert guard.check("Our refund rules: sorry, done.").allowed
    assert guard.check("Sorry about that.").allowed
    exemplar_batches = [batch for batch in calls if "the rules say no" in batch]
    assert len(exemplar_batches) == 1, "exemplar embeddings are computed once"
    guard.check("Rules are rules!")
    assert sum("Rules are rules!" in batch for batch in calls) == 1, "clauses are cached"


def test_without_an_encoder_the_guard_says_it_is_lexical(guard: Guard) -> None:
    assert guard.mode == "lexical"


def test_only_clauses_sharing_a_word_with_the_meanings_reach_the_encoder() -> None:
    calls: list[list[str]] = []
    phrase = ForbiddenPhrase(
        "i refuse to help", "hiding", "explain", examples=("the rules say no",)
    )
    guard = Guard([phrase], normalize, embed=_topic_embed(calls), threshold=0.9, margin=0.05)
    guard.warm_up()
    assert "risk_terms" in vars(guard._compiled), "warm_up works out the gate too"
    calls.clear()
    verdict = guard.check("Thanks for waiting, your parcel left today. Rules are rules!")
    assert not verdict.allowed and verdict.clause == "Rules are rules!"
    assert calls == [["Rules are rules!"]], "the helpful clauses were not encoded"
    calls.clear()
    assert guard.check("Thanks for waiting, your parcel left today.").allowed
    assert calls == [], "nothing worth encoding: no encoder call at all"


def test_risk_terms_drop_what_ordinary_replies_say_as_often() -> None:
    meanings = ["这是公司的规定", "您自己去找别人吧", "policy says no"]
    ordinary = ["您好，我们马上为您处理", "您的订单已发货"]
    ordinary += ["您自己选的颜色很好看", "No problem"] * 3
    risky = risk_terms(meanings, ordinary, normalize)
    assert {"规定", "别人", "policy"} <= risky
    assert "您自" not in risky and "no" not in risky  # helpful replies say them 3x as often
    assert terms("這是公司規定", normalize) >= {"规定"}, "Traditional folds like the list"


def test_the_meanings_vectors_are_cached_per_list_and_model(tmp_path: Path) -> None:
    phrase = ForbiddenPhrase(
        "i refuse to help", "hiding", "explain", allow=("refund rules let us help",),
        examples=("the rules say no",),
    )  # fmt: skip

    def guard(calls: list[list[str]], model: str = "topics-v1") -> Guard:
        embed = _topic_embed(calls)
        return Guard([phrase], normalize, embed=embed, cache_dir=tmp_path, embed_model=model)

    first: list[list[str]] = []
    assert not guard(first).check("Rules are rules!").allowed
    assert any("the rules say no" in batch for batch in first)
    (cached,) = tmp_path.glob("meanings-*.npz")

    again: list[list[str]] = []
    assert not guard(again).check("Rules are rules!").allowed
    assert not any("the rules say no" in batch for batch in again), "read from the cache"

    other: list[list[str]] = []
    guard(other, model="topics-v2").warm_up()
    assert any("the rules say no" in batch for batch in other), "another model re-encodes"

    cached.write_bytes(b"not a numpy file")
    broken: list[list[str]] = []
    assert not guard(broken).check("Rules are rules!").allowed
    assert any("the rules say no" in batch for batch in broken), "a corrupt file re-encodes"


def test_the_pinyin_table_is_pypinyins_without_its_phrase_dictionary() -> None:
    from pypinyin.pinyin_dict import pinyin_dict

    from scripts._fold import _pinyin_table

    assert _pinyin_table() == pinyin_dict
    # a homophone hit in a fresh process, and the package (400,000 phrases) never loaded
    probe = (
        "import sys; from pathlib import Path; from intents import normalize; "
        "from scripts import Guard; "
        "g = Guard.from_file(Path('scripts/forbidden.tsv'), normalize); "
        "assert not g.check('我不知到').allowed; "
        "assert 'pypinyin' not in sys.modules, 'pypinyin was imported'"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_lexical_checks_never_work_out_the_encoder_gate(guard: Guard) -> None:
    # the gate reads the whole bundled library: a lexical check (and the one-entry list
    # `_clause_of` builds for each hit) must not pay for it - it once made checks 20x slower
    assert not guard.check("这是公司的规定，我也没办法").allowed
    assert guard.check("非常抱歉，我们马上为您处理").allowed
    assert "risk_terms" not in vars(guard._compiled)
