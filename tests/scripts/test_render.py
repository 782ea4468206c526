"""Renderer: escaping, inert injection, languages, guard fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from intents import normalize
from scripts import ForbiddenPhrase, Guard, Rendered, Renderer, ScriptLibrary, approve_script
from tests.scripts.conftest import CONTEXT, FALLBACK, WriteScripts

INJECTIONS = [
    "{{ 7*7 }}",
    "{% for x in range(3) %}x{% endfor %}",
    "<b>x</b>",
    "'; DROP TABLE x;--",
    "{{ ''.__class__.__mro__ }}",
    "&amp; <script>alert(1)</script>",
]


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "en"])
def test_customer_values_are_inert(renderer: Renderer, value: str, language: str) -> None:
    context = {**CONTEXT[language], "salutation": value}
    rendered = renderer.render("complaint.ack", language, context)
    assert not rendered.blocked
    assert value in rendered.plain  # shown literally, never evaluated
    assert "49" not in rendered.plain.replace(str(CONTEXT[language]["ticket_number"]), "")
    assert "<script>" not in rendered.text and "<b>x</b>" not in rendered.text
    assert "<b>C-20261122-0001</b>" in rendered.text  # the template's own markup stays


def test_rendered_is_frozen_and_plain_is_unescaped(renderer: Renderer) -> None:
    rendered = renderer.render(
        "welcome", "en", {"salutation": "Mr. O'Brien & Co", "business_name": "A<B"}
    )
    assert "O&#39;Brien &amp; Co" in rendered.text and "A&lt;B" in rendered.text
    assert "Mr. O'Brien & Co" in rendered.plain and "A<B" in rendered.plain
    with pytest.raises(AttributeError):
        rendered.text = "x"  # type: ignore[misc]
    assert isinstance(rendered, Rendered)


def test_traditional_is_derived_with_opencc(renderer: Renderer) -> None:
    rendered = renderer.render("faq.shipping_time", "zh-Hant", {})
    assert rendered.language == "zh-Hant"
    assert "發貨" in rendered.plain and "发货" not in rendered.plain


@pytest.mark.parametrize(
    ("variant", "expected", "not_expected"),
    [("tw", "審核", "審覈"), ("hk", "審核", "審覈"), ("standard", "審覈", "審核")],
)
def test_traditional_follows_the_configured_variant(
    bundled: ScriptLibrary, guard: Guard, variant: str, expected: str, not_expected: str
) -> None:
    plain = Renderer(bundled, guard, traditional=variant).render("faq.returns", "zh-Hant", {}).plain
    assert expected in plain and not_expected not in plain


def test_an_unknown_traditional_variant_is_refused(bundled: ScriptLibrary, guard: Guard) -> None:
    with pytest.raises(ValueError, match="traditional must be one of"):
        Renderer(bundled, guard, traditional="mo")


def test_customer_values_are_not_converted_to_traditional(renderer: Renderer) -> None:
    context = {**CONTEXT["zh-Hant"], "salutation": "欧阳女士"}
    assert "欧阳女士" in renderer.render("feedback.thanks", "zh-Hant", context).plain


def test_unknown_language_falls_back_to_default(renderer: Renderer) -> None:
    rendered = renderer.render("menu.prompt", "fr", {})
    assert rendered.language == "zh-Hans"
    assert rendered.plain.startswith("请问有什么可以帮您")


def test_folded_chinese_lines_join_without_spaces(renderer: Renderer) -> None:
    plain = renderer.render("complaint.ack", "zh-Hans", CONTEXT["zh-Hans"]).plain
    assert "。 " not in plain and "， " not in plain


def _library(write_scripts: WriteScripts, body: str) -> ScriptLibrary:
    path = write_scripts("chat.yaml", body + FALLBACK)
    library = ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    for script_id in library.scripts:
        approve_script(library, script_id, "tester")
    return library


def test_handwritten_traditional_variant_wins(write_scripts: WriteScripts, guard: Guard) -> None:
    library = _library(
        write_scripts,
        """
        - id: hi
          purpose: p
          channel: chat
          text:
            zh-Hans: 你好
            zh-Hant: 您好呀（手寫）
            en: Hi
        """,
    )
    assert Renderer(library, guard).render("hi", "zh-Hant", {}).plain == "您好呀（手寫）"


def test_blocked_text_is_replaced_by_the_fallback_and_logged(
    write_scripts: WriteScripts, caplog: pytest.LogCaptureFixture
) -> None:
    library = _library(
        write_scripts,
        """
        - id: reply
          purpose: p
          channel: chat
          variables: [first_name]
          text:
            zh-Hans: "{{ first_name }}，您好"
            en: "Hi {{ first_name }}"
        """,
    )
    guard = Guard([ForbiddenPhrase("calm down", "dismissive", "I understand")], normalize)
    renderer = Renderer(library, guard)
    with caplog.at_level(logging.WARNING, logger="carebot.guard"):
        rendered = renderer.render("reply", "en", {"first_name": "Calm Down"})
    assert rendered.blocked and rendered.script_id == "fallback.safe"
    assert rendered.plain.startswith("Thank you for your message")
    assert any("reply" in r.getMessage() and "calm down" in r.getMessage() for r in caplog.records)


def test_missing_value_renders_the_fallback(
    write_scripts: WriteScripts, guard: Guard, caplog: pytest.LogCaptureFixture
) -> None:
    library = _library(
        write_scripts,
        """
        - id: reply
          purpose: p
          channel: chat
          variables: [first_name]
          text:
            zh-Hans: "{{ first_name }}，您好"
            en: "Hi {{ first_name }}"
        """,
    )
    with caplog.at_level(logging.ERROR, logger="carebot.scripts"):
        rendered = Renderer(library, guard).render("reply", "en", {})
    assert rendered.script_id == "fallback.safe" and not rendered.blocked
    assert caplog.records


def test_bundled_dir_has_only_yaml_and_no_stray_files() -> None:
    folder = Path(__file__).resolve().parents[2] / "scripts" / "library"
    assert sorted(p.suffix for p in folder.iterdir()) == [".yaml"] * len(list(folder.iterdir()))
