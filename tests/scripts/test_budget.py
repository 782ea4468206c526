"""The render budget: CPU, memory and recursion hogs are stopped, answered and refused by lint."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from care.cli.scripts import app as scripts_app
from scripts import (
    Guard,
    LibraryError,
    RenderBudget,
    Renderer,
    ScriptLibrary,
    TemplateBudgetError,
    approve_script,
    lint_library,
)
from scripts._templates import render_html
from tests.scripts.conftest import FALLBACK, WriteScripts

#: (template, what stops it): each would take seconds, gigabytes or the whole stack.
HOGS = [
    ("{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}ok", "steps"),
    ("{% for x in range(50000) %}{% endfor %}ok", "range"),
    ("{{ range(10**9) }}", "range"),
    ("{{ range(10**100)|list }}", "range"),
    ("{{ 'x' * 10**9 }}", "repeated value"),
    ("{{ [[1] * 30000] * 30000 }}", "repeated value"),
    ("{{ 10 ** (10 ** 10) }}", "a number"),
    ("{{ 'x'|center(10**9) }}", "center filter"),
    ("{{ 'x'.ljust(10**9) }}", "str.ljust"),
    ("{{ 'a\tb'.expandtabs(10**8) }}", "expanded text"),
    ("{{ '%999999999d'|format(1) }}", "formatted field"),
    ("{{ '%*d' % (10**9, 1) }}", "formatted field"),
    ("{{ '{:>999999999}'.format(1) }}", "formatted field"),
    ("{{ ('x' * 30000)|replace('', 'x' * 30000) }}", "replaced text"),
    ("{{ ('y' * 30000).join('x' * 30000) }}", "joined text"),
    ("{{ [1]|batch(10**9, 0)|list }}", "batch filter"),
    (
        "{% set ns = namespace(s='x') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s }}",
        "a value",
    ),
    ("{% macro r(s) %}{{ r(s ~ s) }}{% endmacro %}{{ r('x') }}", "a value"),
]


@pytest.mark.parametrize(("source", "limit"), HOGS)
def test_a_hog_stops_at_its_budget(source: str, limit: str) -> None:
    with pytest.raises(TemplateBudgetError, match=limit):
        render_html(source, {})


RECURSION = "{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}"


def test_recursion_ends_in_a_recursion_error() -> None:
    with pytest.raises(RecursionError):
        render_html(RECURSION, {})


def test_the_time_budget_holds_when_steps_are_plenty() -> None:
    budget = RenderBudget(max_steps=10**9, max_seconds=0.0)
    with pytest.raises(TemplateBudgetError, match="0 s"):
        render_html("{% for x in range(3) %}{{ x }}{% endfor %}", {}, budget)


def test_the_output_budget_counts_customer_values_too() -> None:
    budget = RenderBudget(max_chars=100)
    assert render_html("Hi {{ v }}", {"v": "x" * 90}, budget) == "Hi " + "x" * 90
    with pytest.raises(TemplateBudgetError, match="rendered text"):
        render_html("Hi {{ v }}", {"v": "x" * 100}, budget)


def test_ordinary_templates_are_untouched() -> None:
    source = (
        "{% if tier == 'gold' %}<b>{{ salutation }}</b>{% else %}{{ salutation|upper }}{% endif %}"
        "{% for s in stars %}{{ s }}{% endfor %} {{ '%s/%s' % (1, 2) }} {{ 'a' ~ 'b' }}"
    )
    context = {"tier": "gold", "salutation": "Ms. <L>", "stars": "★★★"}
    assert render_html(source, context) == "<b>Ms. &lt;L&gt;</b>★★★ 1/2 ab"


def test_templates_cannot_mutate_values() -> None:
    with pytest.raises(Exception, match="unsafe"):
        render_html("{{ items.append(1) }}", {"items": []})


#: One of each kind for the library-level tests (each approval rewrites the file: keep it short).
LIBRARY_HOGS = [HOGS[0][0], HOGS[2][0], HOGS[4][0], HOGS[7][0], HOGS[-2][0], RECURSION]


def _hog_library(write_scripts: WriteScripts) -> ScriptLibrary:
    hogs = "".join(
        textwrap.indent(
            f"- id: hog{n}\n  purpose: p\n  channel: chat\n  text:\n"
            f"    en: {json.dumps(source)}\n    zh-Hans: {json.dumps(source)}\n",
            "        ",
        )
        for n, source in enumerate(LIBRARY_HOGS)
    )
    path = write_scripts("hogs.yaml", hogs + FALLBACK)
    library = ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    for script_id in library.scripts:
        approve_script(library, script_id, "tester")  # the record only: the CLI lints first
    return library


def test_every_render_error_is_answered_with_the_fallback_and_logged(
    write_scripts: WriteScripts, guard: Guard, caplog: pytest.LogCaptureFixture
) -> None:
    library = _hog_library(write_scripts)
    renderer = Renderer(library, guard)
    with caplog.at_level(logging.ERROR, logger="carebot.scripts"):
        for script_id in sorted(library.scripts):
            if script_id == "fallback.safe":
                continue
            rendered = renderer.render(script_id, "en", {})
            assert rendered.script_id == "fallback.safe", script_id
            assert not rendered.blocked
            assert any(script_id in record.getMessage() for record in caplog.records), script_id


def test_lint_refuses_every_hog_with_file_and_line(
    write_scripts: WriteScripts, guard: Guard
) -> None:
    library = _hog_library(write_scripts)
    problems = lint_library(library, guard, ["en"])
    flagged = {problem.script_id for problem in problems}
    assert flagged == {f"hog{n}" for n in range(len(LIBRARY_HOGS))}
    recursion = [p for p in problems if p.script_id == f"hog{len(LIBRARY_HOGS) - 1}"]
    assert "recurses without end" in recursion[0].message
    assert all(p.line > 1 and p.file.name == "hogs.yaml" for p in problems)


def test_a_template_nested_too_deeply_is_a_library_problem(write_scripts: WriteScripts) -> None:
    deep = "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"
    path = write_scripts(
        "deep.yaml", f"- id: deep\n  purpose: p\n  channel: chat\n  text:\n    en: '{deep}'\n"
    )
    with pytest.raises(LibraryError) as caught:
        ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    assert [str(p) for p in caught.value.problems] == [f"{path}:5: en template nests too deeply"]


runner = CliRunner()


@pytest.mark.parametrize(
    "source",
    [
        "{% for a in 'x'*10000 %}{% for b in 'x'*10000 %}{% endfor %}{% endfor %}ok",
        "{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}",
        "{{ range(10**9)|length }}",
    ],
)
def test_cli_lint_and_approve_report_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    folder = tmp_path / "operator"
    folder.mkdir()
    monkeypatch.setenv("SCRIPTS_DIR", str(folder))
    (folder / "hog.yaml").write_text(
        f"- id: hog\n  purpose: p\n  channel: chat\n  text:\n    en: {json.dumps(source)}\n"
        f"    zh-Hans: {json.dumps(source)}\n",
        encoding="utf-8",
    )
    lint = runner.invoke(scripts_app, ["lint"])
    assert lint.exit_code == 1 and isinstance(lint.exception, SystemExit)
    assert "hog.yaml:5: hog: en text" in lint.output and "Traceback" not in lint.output
    approve = runner.invoke(scripts_app, ["approve", "hog", "--by", "x"])
    assert approve.exit_code == 1 and isinstance(approve.exception, SystemExit)
    assert "refused: hog fails lint" in approve.output
    assert "status: approved" not in (folder / "hog.yaml").read_text(encoding="utf-8")
