"""The forbidden-phrase guard: the issue's examples and the precision/recall sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intents import normalize
from scripts import ForbiddenPhrase, Guard, LibraryError, ScriptLibrary, load_forbidden
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


def test_malformed_rows_are_reported_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.tsv"
    path.write_text("# comment\nphrase\treason\tsuggestion\nonly one column\n", encoding="utf-8")
    with pytest.raises(LibraryError) as caught:
        load_forbidden(path)
    assert [p.line for p in caught.value.problems] == [3]


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
