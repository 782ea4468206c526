"""Staff macros in the library: the `staff` channel, the optional `when` examples, lint."""

from __future__ import annotations

from pathlib import Path

from scripts import Guard, Renderer, ScriptLibrary, lint_library, lint_script
from scripts._library import parse_file
from tests.scripts.conftest import WriteScripts

LANGUAGES = ["zh-Hans", "zh-Hant", "en"]
#: The starter set the issue asks for (one script per situation at least).
STARTER = {
    "macro.delay.apology",
    "macro.refund.confirm",
    "macro.request.photo",
    "macro.closing.line",
    "macro.escalate.supervisor",
    "macro.delivery.late",
    "macro.refund.status",
    "macro.damaged.item",
    "macro.complaint.rude_staff",
    "macro.closing.thanks",
}


def test_bundled_starter_set_is_approved_in_three_languages(
    bundled: ScriptLibrary, guard: Guard
) -> None:
    staff = {s.id: s for s in bundled.scripts.values() if s.channel == "staff"}
    assert set(staff) >= STARTER
    renderer = Renderer(bundled, guard)
    values: dict[str, object] = {
        "salutation": "梁小姐",
        "ticket_number": "C-20261201-0001",
        "resolution_due": "明天 18:00 前",
        "new_deadline": "12月3日 18:00",
        "order_number": "SO-1",
        "business_name": "星河湾",
    }
    for script in staff.values():
        assert script.servable, script.id
        for language in LANGUAGES:
            rendered = renderer.render(script.id, language, values)
            assert not rendered.blocked and rendered.plain, (script.id, language)
    # zh-Hant is derived: the Traditional copy of a macro is really Traditional.
    assert "聯繫" in renderer.render("macro.delivery.late", "zh-Hant", values).plain
    # situations the suggestions cover carry examples
    for script_id in ("macro.delivery.late", "macro.refund.status", "macro.damaged.item",
                      "macro.complaint.rude_staff", "macro.closing.thanks"):  # fmt: skip
        assert len(staff[script_id].when) >= 8, script_id
    assert lint_library(bundled, guard, LANGUAGES, ids=set(staff)) == []


def test_when_examples_parse_and_do_not_change_the_version(write_scripts: WriteScripts) -> None:
    source = """
        - id: m
          purpose: refund
          channel: staff
          text:
            zh-Hans: 好的
            en: OK
          when: [退款到了吗, where is my refund]
        """
    path = write_scripts("m.yaml", source)
    key = path.parent.parent / "approval.key"
    script = ScriptLibrary.load([path.parent], key_file=key).scripts["m"]
    assert script.when == ("退款到了吗", "where is my refund")
    path.write_text(path.read_text(encoding="utf-8").replace("where is my refund", "refund status"))
    again = ScriptLibrary.load([path.parent], key_file=key).scripts["m"]
    assert again.when == ("退款到了吗", "refund status") and again.version == script.version


def test_bad_when_and_when_outside_the_staff_channel(
    write_scripts: WriteScripts, guard: Guard
) -> None:
    path = write_scripts(
        "m.yaml",
        """
        - id: bad
          purpose: refund
          channel: staff
          text:
            zh-Hans: 好的
            en: OK
          when: 退款到了吗
        """,
    )
    _, problems = parse_file(path)
    assert [str(p) for p in problems] == [
        f"{path}:7: when must be a list of example customer messages (non-empty texts)"
    ]
    path = write_scripts(
        "c.yaml",
        """
        - id: chat
          purpose: refund
          channel: chat
          text:
            zh-Hans: 好的
            en: OK
          when: [退款到了吗]
        """,
    )
    [chat], _ = parse_file(path)
    linted = [str(p) for p in lint_script(chat, guard, LANGUAGES)]
    assert (
        f"{path}:7: chat: when examples rank staff macros only: use channel: staff or drop them"
        in linted
    )


def test_staff_channel_is_a_known_channel(write_scripts: WriteScripts) -> None:
    path = write_scripts(
        "m.yaml",
        """
        - id: m
          purpose: closing
          channel: staff
          text:
            zh-Hans: 好的
            en: OK
        """,
    )
    library = ScriptLibrary.load([path.parent], key_file=Path(path.parent.parent / "k"))
    assert library.scripts["m"].channel == "staff" and not library.file_problems
