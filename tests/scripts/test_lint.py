"""Lint: each problem kind is caught and located as file:line."""

from __future__ import annotations

from pathlib import Path

from scripts import Guard, ScriptLibrary, approve_script, lint_library
from scripts._lint import KNOWN_VARIABLES
from tests.scripts.conftest import WriteScripts

LANGUAGES = ["zh-Hans", "zh-Hant", "en"]
KNOWN = ", ".join(sorted(KNOWN_VARIABLES)) + ")"


def _lint(path: Path, guard: Guard, **kwargs: object) -> list[str]:
    library = ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    return [str(problem) for problem in lint_library(library, guard, LANGUAGES, **kwargs)]  # type: ignore[arg-type]


def test_bundled_library_is_lint_clean(bundled: ScriptLibrary, guard: Guard) -> None:
    assert lint_library(bundled, guard, LANGUAGES) == []


def test_forbidden_phrase_in_a_variant(write_scripts: WriteScripts, guard: Guard) -> None:
    path = write_scripts(
        "a.yaml",
        """
        - id: a
          purpose: p
          channel: chat
          text:
            zh-Hans: 好的
            en: Sorry, that's company policy.
        """,
    )
    problems = _lint(path, guard)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:6: a: en text contains forbidden phrase")
    assert "suggestion:" in problems[0]


def test_undeclared_unused_and_unknown_variables(write_scripts: WriteScripts, guard: Guard) -> None:
    path = write_scripts(
        "a.yaml",
        """
        - id: a
          purpose: p
          channel: chat
          variables: [salutation, shoe_size]
          text:
            zh-Hans: "{{ salutation }}，{{ ticket_number }}"
            en: "Hi {{ salutation }} {{ shoe_size }}"
        """,
    )
    problems = _lint(path, guard)
    assert f"{path}:4: a: unknown variable 'shoe_size' (care passes: {KNOWN}" in problems
    assert f"{path}:6: a: zh-Hans text uses undeclared variable 'ticket_number'" in problems
    assert f"{path}:6: a: zh-Hans text does not use declared variable 'shoe_size'" in problems


def test_render_failure_with_sample_values(write_scripts: WriteScripts, guard: Guard) -> None:
    path = write_scripts(
        "r.yaml",
        """
        - id: r
          purpose: p
          channel: chat
          variables: [salutation]
          text:
            zh-Hans: "{{ salutation.missing.attr }}"
            en: "{{ salutation }}"
        """,
    )
    problems = _lint(path, guard)
    assert any(p.startswith(f"{path}:6: r: zh-Hans text does not render") for p in problems)


def test_greeting_length_and_salutation(write_scripts: WriteScripts, guard: Guard) -> None:
    path = write_scripts(
        "g.yaml",
        """
        - id: g
          purpose: birthday
          channel: greeting
          tier: gold
          variables: [salutation]
          text:
            zh-Hans: 亲爱的顾客，生日快乐！
            en: "Dear {{ salutation }}, happy birthday! We wish you a truly wonderful year."
        """,
    )
    problems = _lint(path, guard)
    salutation = "use {{ salutation }}"
    assert (
        f"{path}:7: g: zh-Hans greeting must address the customer by surname + title: {salutation}"
        in problems
    )
    assert any(
        p.startswith(f"{path}:8: g: en greeting is ") and "(at most 70)" in p for p in problems
    )
    assert any(
        p.startswith(f"{path}:7: g: zh-Hans text does not use declared variable") for p in problems
    )


def test_complaint_scripts_open_with_empathy(write_scripts: WriteScripts, guard: Guard) -> None:
    path = write_scripts(
        "c.yaml",
        """
        - id: c
          purpose: complaint
          channel: chat
          variables: [salutation]
          text:
            zh-Hans: "{{ salutation }}，工单已创建。非常抱歉。"
            en: "{{ salutation }}, I'm so sorry. We have created a ticket."
        """,
    )
    problems = _lint(path, guard)
    assert [p for p in problems if "empathy" in p] == [
        f"{path}:6: c: zh-Hans complaint script must open with empathy or an apology before "
        "any action (first sentence: '工单已创建')",
        f"{path}:6: c: zh-Hant complaint script must open with empathy or an apology before "
        "any action (first sentence: '工單已創建')",
    ]
    # The opener list is configurable.
    assert not [p for p in _lint(path, guard, openers=("工单", "sorry")) if "empathy" in p]


def test_every_configured_language_present(write_scripts: WriteScripts, guard: Guard) -> None:
    path = write_scripts(
        "l.yaml",
        """
        - id: l
          purpose: p
          channel: chat
          text:
            en: Hello
        """,
    )
    problems = _lint(path, guard)
    assert f"{path}:4: l: missing the zh-Hans text" in problems
    assert f"{path}:4: l: missing the zh-Hant text" in problems


def test_edited_after_approval(write_scripts: WriteScripts, guard: Guard) -> None:
    path = write_scripts(
        "e.yaml",
        """
        # keep this comment
        - id: e
          purpose: p
          channel: chat
          text:
            zh-Hans: 您好
            en: Hello
          status: draft
        """,
    )
    library = ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    approve_script(library, "e", "Wang Fang")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# keep this comment\n")
    assert 'approved_by: "Wang Fang"' in text and "status: approved" in text
    path.write_text(text.replace("Hello", "Hi"), encoding="utf-8")
    problems = _lint(path, guard)
    assert (
        len(problems) == 1
        and problems[0].startswith(f"{path}:")
        and "edited after approval" in problems[0]
    )
