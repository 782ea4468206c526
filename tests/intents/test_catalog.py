"""Catalog files: problems as file:line, folder overrides and reload."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from intents import CatalogError, CatalogProblem, IntentEngine, load_catalog
from intents.loader import KINDS, load_folder

from .conftest import BUNDLED

GOOD = """\
intents:
  - id: faq.wifi
    kind: faq
    script: faq.wifi
    examples:
      zh-Hans: [有wifi吗, wifi密码是多少]
      en: [do you have wifi, whats the wifi password]
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def bump(path: Path) -> None:
    """Make the mtime visibly change even on coarse-grained file systems."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


def test_bundled_catalog_is_clean_and_complete() -> None:
    specs, problems = load_folder(BUNDLED)
    assert problems == []
    by_id = {spec.id: spec for spec in specs}
    for coarse in ("inquiry", "complaint", "feedback"):
        spec = by_id[coarse]
        assert spec.kind == coarse
        assert len(spec.examples["zh-Hans"]) >= 40
        assert len(spec.examples["en"]) >= 40
        assert len(spec.examples["zh-Hant"]) >= 10
    faqs = [spec for spec in specs if spec.kind == "faq"]
    assert len(faqs) >= 34
    for spec in faqs:
        assert spec.script == spec.id
        assert len(spec.examples["zh-Hans"]) >= 4 and len(spec.examples["en"]) >= 4
    assert by_id["inquiry"].script == "inquiry.clarify"
    assert by_id["complaint"].script == "complaint.ack"
    assert by_id["feedback"].script == "feedback.thanks"
    assert by_id["greeting"].script == "menu.prompt"
    assert by_id["handoff"].script == "handoff.ack"
    assert {spec.kind for spec in specs} == set(KINDS)


def test_problem_str_is_file_line_message(tmp_path: Path) -> None:
    problem = CatalogProblem(tmp_path / "a.yaml", 7, "unknown kind 'x'")
    assert str(problem) == f"{tmp_path / 'a.yaml'}:7: unknown kind 'x'"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("intents:\n  - id: a\n    kind: faq\n    script: [unclosed\n", 5, "malformed YAML"),
        (GOOD.replace("kind: faq", "kind: question"), 3, "unknown kind 'question'"),
        (GOOD.replace("    script: faq.wifi\n", ""), 2, "missing script"),
        (GOOD.replace("    examples:", "    exmaples:"), 5, "unknown key 'exmaples'"),
        (GOOD.replace("zh-Hans:", "zh-CN:"), 6, "unknown language 'zh-CN'"),
        (GOOD + "    cues: {wifi: lots}\n", 8, "cue 'wifi' needs a weight"),
        ("intents: {id: x}\n", 1, "expected a list"),
    ],
)
def test_malformed_files_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, "ops.yaml", text)
    _, problems = load_folder(tmp_path)
    assert problems, "expected a problem"
    assert problems[0].file == path
    assert problems[0].line == line, str(problems[0])
    assert fragment in problems[0].message


def test_duplicate_ids_within_a_folder(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    second = write(tmp_path, "b.yaml", GOOD)
    _, problems = load_folder(tmp_path)
    assert len(problems) == 1
    assert problems[0].file == second and problems[0].line == 2
    assert "duplicate id 'faq.wifi'" in problems[0].message


def test_later_folder_overrides_earlier_ids(tmp_path: Path) -> None:
    write(
        tmp_path / "ops",
        "hours.yaml",
        """\
        - id: faq.hours
          kind: faq
          script: faq.hours_custom
          examples:
            en: [when is the shop open]
        """,
    )
    specs, problems = load_catalog([BUNDLED, tmp_path / "ops"])
    assert problems == []
    by_id = {spec.id: spec for spec in specs}
    assert by_id["faq.hours"].script == "faq.hours_custom"
    assert len(specs) == len(load_folder(BUNDLED)[0])


def test_first_load_failure_raises_with_problems(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", GOOD.replace("kind: faq", "kind: nope"))
    with pytest.raises(CatalogError) as info:
        IntentEngine([BUNDLED, tmp_path])
    assert info.value.problems[0].line == 3
    assert "bad.yaml:3:" in str(info.value)


def test_missing_operator_folder_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        IntentEngine([BUNDLED, tmp_path / "nowhere"])


def test_reload_keeps_the_last_good_catalog(tmp_path: Path) -> None:
    ops = tmp_path / "ops"
    path = write(ops, "wifi.yaml", GOOD)
    engine = IntentEngine([BUNDLED, ops])
    assert engine.match("wifi密码是多少").intent == "faq.wifi"

    path.write_text(GOOD.replace("kind: faq", "kind: wrong"), encoding="utf-8")
    problems = engine.reload()
    assert [p.line for p in problems] == [3]
    assert engine.match("wifi密码是多少").intent == "faq.wifi"  # still served

    path.write_text(GOOD.replace("faq.wifi", "faq.internet"), encoding="utf-8")
    assert engine.reload() == []
    assert engine.match("wifi密码是多少").intent == "faq.internet"
