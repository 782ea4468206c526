"""The bundled library and ScriptLibrary loading, serving rules and hot reload."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from scripts import (
    Guard,
    LibraryError,
    Renderer,
    ScriptLibrary,
    ScriptNotServable,
    approve_script,
    retire_script,
)
from tests.scripts.conftest import BUNDLED_DIR, CONTEXT, FALLBACK, WriteScripts

CONVERSATION_IDS = [
    "welcome",
    "menu.prompt",
    "menu.button.inquiry",
    "menu.button.complaint",
    "menu.button.feedback",
    "menu.button.human",
    "inquiry.clarify",
    "inquiry.prompt",
    "complaint.prompt",
    "feedback.prompt",
    "complaint.ack",
    "feedback.thanks",
    "handoff.ack",
    "media.unsupported",
    "text.too_long",
    "fallback.safe",
]
FAQ_NAMES = """
hours address parking shipping_fee shipping_time international_shipping delivery_status
order_cancel order_change_address returns exchange refund_policy refund_status invoice
membership points points_redeem coupons gift_card booking booking_cancel booking_change
payment_methods installments contact warranty repair stock size_guide price_match pickup
account_password privacy bulk_order
"""
FAQ_IDS = [f"faq.{name}" for name in FAQ_NAMES.split()]
GREETING_IDS = [
    f"greeting.{occasion}.{tier}"
    for occasion in ("spring_festival", "birthday", "mid_autumn")
    for tier in ("gold", "silver", "regular")
]


@pytest.mark.parametrize("script_id", CONVERSATION_IDS + FAQ_IDS + GREETING_IDS)
def test_bundled_script_is_approved_and_servable(bundled: ScriptLibrary, script_id: str) -> None:
    script = bundled.servable(script_id)
    assert script.approved_by == "carebot maintainers"
    assert script.approved_at and script.approved_at.endswith("Z")
    assert script.approved_version == script.version
    assert {"zh-Hans", "en"} <= set(script.templates)


def test_bundled_library_loads_without_problems(bundled: ScriptLibrary) -> None:
    assert bundled.problems == []


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "en"])
def test_every_bundled_script_renders_in_every_language(
    renderer: Renderer, bundled: ScriptLibrary, language: str
) -> None:
    # Drafts (work in progress of other areas) are covered by the lint test, which renders
    # every script with sample values; only servable ones can go through the renderer.
    for script_id, script in bundled.scripts.items():
        if not script.servable:
            continue
        context = {name: CONTEXT[language][name] for name in script.variables}
        rendered = renderer.render(script_id, language, context)
        assert rendered.script_id == script_id, script_id
        assert rendered.language == language
        assert not rendered.blocked
        assert rendered.version == script.version
        assert rendered.plain.strip()
        source = script.templates.get(language) or next(iter(script.templates.values()))
        for name in script.variables:
            if not re.search(r"\{\{-?\s*" + name + r"\b", source):
                continue  # only chooses between wordings (staff.topic.name's tier badge)
            assert str(context[name]) in rendered.plain, (script_id, name)
        if script.channel == "greeting":
            assert len(rendered.plain) <= 70


def test_faq_hours_mentions_opening_hours(renderer: Renderer) -> None:
    # The hours themselves come from the [business_hours] settings (care passes them).
    zh = renderer.render("faq.hours", "zh-Hans", {"business_hours": "每天 09:00-21:00"}).plain
    assert "营业时间：每天 09:00-21:00" in zh
    en = renderer.render("faq.hours", "en", {"business_hours": "every day 09:00-21:00"}).plain
    assert "open every day 09:00-21:00" in en


def test_complaint_ack_follows_the_practice(renderer: Renderer) -> None:
    zh = renderer.render("complaint.ack", "zh-Hans", CONTEXT["zh-Hans"]).plain
    assert zh.index("非常抱歉") < zh.index("C-20261122-0001")  # feelings first, then the matter
    assert "今天 18:30 前" in zh and "11月23日 18:00 前" in zh
    assert "①" in zh and "②" in zh and "感谢" in zh
    en = renderer.render("complaint.ack", "en", CONTEXT["en"]).plain
    assert en.index("sorry") < en.index("C-20261122-0001")
    assert "1)" in en and "2)" in en and "Thank you" in en


def _draft_library(write_scripts: WriteScripts) -> Path:
    return write_scripts(
        "chat.yaml",
        """
        - id: hello
          purpose: greeting
          channel: chat
          variables: [salutation]
          text:
            zh-Hans: "{{ salutation }}，您好！"
            en: "Hello {{ salutation }}!"
          status: draft
        """
        + FALLBACK,
    )


def test_a_draft_cannot_be_sent(write_scripts: WriteScripts, guard: Guard) -> None:
    path = _draft_library(write_scripts)
    library = ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    renderer = Renderer(library, guard)
    with pytest.raises(ScriptNotServable, match="draft"):
        renderer.render("hello", "en", {"salutation": "Ms. Liang"})
    with pytest.raises(ScriptNotServable, match="no such script"):
        renderer.render("nope", "en", {})


def test_approve_then_edit_then_reapprove_then_retire(
    write_scripts: WriteScripts, guard: Guard
) -> None:
    path = _draft_library(write_scripts)
    path.chmod(0o644)
    library = ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    approve_script(library, "hello", "Wang Fang")
    approve_script(library, "fallback.safe", "Wang Fang")
    assert path.stat().st_mode & 0o777 == 0o644  # the atomic rewrite keeps the file's mode
    renderer = Renderer(library, guard)
    assert renderer.render("hello", "en", {"salutation": "Ms. Liang"}).plain == "Hello Ms. Liang!"

    path.write_text(path.read_text(encoding="utf-8").replace("Hello", "Hi"), encoding="utf-8")
    # A new process: nothing approved to fall back on.
    fresh = ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    with pytest.raises(ScriptNotServable, match="edited after approval"):
        fresh.servable("hello")
    assert any("edited after approval" in p.message for p in fresh.problems)

    approve_script(fresh, "hello", "Li Lei")
    assert fresh.servable("hello").approved_by == "Li Lei"
    retire_script(fresh, "hello")
    with pytest.raises(ScriptNotServable, match="retired"):
        fresh.servable("hello")


def test_later_folders_override_ids(tmp_path: Path, guard: Guard) -> None:
    operator = tmp_path / "operator"
    operator.mkdir()
    (operator / "hours.yaml").write_text(
        "- id: faq.hours\n  purpose: faq.hours\n  channel: chat\n"
        "  text:\n    zh-Hans: 营业时间：每天 09:00-18:00。\n    en: Open 09:00-18:00.\n"
        "  status: draft\n",
        encoding="utf-8",
    )
    library = ScriptLibrary.load([BUNDLED_DIR, operator], key_file=tmp_path / "approval.key")
    approve_script(library, "faq.hours", "Owner")
    assert (operator / "hours.yaml").read_text(encoding="utf-8").count("approved_by") == 1
    text = Renderer(library, guard).render("faq.hours", "en", {}).plain
    assert text == "Open 09:00-18:00."


def test_broken_file_fails_the_first_load_with_file_and_line(write_scripts: WriteScripts) -> None:
    path = write_scripts("bad.yaml", "- id: x\n  purpose: p\n  channel: chat\n  text: [unclosed\n")
    with pytest.raises(LibraryError) as caught:
        ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    problem = caught.value.problems[0]
    assert problem.file == path and problem.line >= 4
    assert str(problem).startswith(f"{path}:")


def test_template_syntax_error_points_at_the_template_line(write_scripts: WriteScripts) -> None:
    path = write_scripts(
        "bad.yaml",
        """
        - id: x
          purpose: p
          channel: chat
          text:
            zh-Hans: >-
              您好
              {{ salutation
            en: Hi
        """,
    )
    with pytest.raises(LibraryError) as caught:
        ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    problem = caught.value.problems[0]
    assert "zh-Hans template" in problem.message
    assert problem.line in (6, 7)


def test_invalid_fields_are_reported(write_scripts: WriteScripts) -> None:
    path = write_scripts(
        "bad.yaml",
        """
        - id: x
          purpose: p
          channel: sms
          tier: platinum
          varaibles: [salutation]
          text:
            fr: Bonjour
        """,
    )
    with pytest.raises(LibraryError) as caught:
        ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    messages = [f"{p.line}: {p.message}" for p in caught.value.problems]
    assert any(m.startswith("5: unknown key 'varaibles'") for m in messages), messages


def _touch_later(path: Path) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))


def test_hot_reload_keeps_last_good_version_on_a_broken_file(
    write_scripts: WriteScripts, guard: Guard
) -> None:
    path = _draft_library(write_scripts)
    library = ScriptLibrary.load([path.parent], key_file=path.parent.parent / "approval.key")
    approve_script(library, "hello", "Wang Fang")
    approve_script(library, "fallback.safe", "Wang Fang")
    renderer = Renderer(library, guard)
    good = path.read_text(encoding="utf-8")

    path.write_text(good + "\n- id: [broken\n", encoding="utf-8")
    _touch_later(path)
    problems = library.reload()
    assert problems and problems[0].file == path and problems[0].line > 1
    assert renderer.render("hello", "en", {"salutation": "Ms. Liang"}).plain == "Hello Ms. Liang!"

    # Edited without re-approval: reported, and the approved version stays in service.
    path.write_text(good.replace("Hello", "Hey"), encoding="utf-8")
    _touch_later(path)
    problems = library.reload()
    assert any("stays in service" in p.message for p in problems)
    assert renderer.render("hello", "en", {"salutation": "Ms. Liang"}).plain == "Hello Ms. Liang!"

    # Re-approved: the new text is served.
    approve_script(library, "hello", "Wang Fang")
    assert renderer.render("hello", "en", {"salutation": "Ms. Liang"}).plain == "Hey Ms. Liang!"
