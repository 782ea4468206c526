"""The one file watch: edits to catalog, script and forbidden-list files reach the components."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from care.runtime.settings import BUNDLED_INTENTS_DIR
from care.runtime.watch import FileWatch, signature
from intents import IntentEngine, normalize
from scripts import Guard, ScriptLibrary
from tests.intents.test_catalog import GOOD as WIFI
from tests.intents.test_catalog import bump, write

# One script, flow style: enough for the library to parse and reload.
HELLO = '- {id: hello, purpose: greeting, channel: chat, text: {en: "Hello!"}, status: draft}\n'


def test_watch_picks_up_a_catalog_edit_and_reports_a_broken_file_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ops = tmp_path / "ops"
    write(ops, "empty.yaml", "")
    engine = IntentEngine([BUNDLED_INTENTS_DIR, ops])
    watch = FileWatch({"intents": engine})
    assert engine.match("wifi密码是多少").intent != "faq.wifi"
    assert watch.poll() == {}  # nothing changed

    path = write(ops, "wifi.yaml", WIFI)
    assert watch.poll() == {"intents": []}
    assert engine.match("wifi密码是多少").intent == "faq.wifi"

    path.write_text(WIFI + "  - not a mapping\n", encoding="utf-8")
    bump(path)
    with caplog.at_level(logging.WARNING, logger="carebot.watch"):
        problems = watch.poll()["intents"]
    assert problems and problems[0].startswith(f"{path}:8: ")
    assert engine.match("wifi密码是多少").intent == "faq.wifi"  # the last good catalog serves
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == problems  # file:line lines
    assert watch.poll() == {}  # the broken state is reported once, not every poll


def test_watch_reloads_an_edited_script_file(tmp_path: Path) -> None:
    path = write(tmp_path / "library", "chat.yaml", HELLO)
    library = ScriptLibrary.load([path.parent])
    watch = FileWatch({"scripts": library})
    path.write_text(HELLO.replace("Hello", "Hey"), encoding="utf-8")
    bump(path)
    assert watch.poll() == {"scripts": []}
    script = library.get("hello")
    assert script is not None and script.templates["en"] == "Hey!"


def test_watch_reloads_the_forbidden_list(tmp_path: Path) -> None:
    path = tmp_path / "f.tsv"
    path.write_text("calm down\tdismissive\tI understand\n", encoding="utf-8")
    guard = Guard.from_file(path, normalize)
    watch = FileWatch({"guard": guard})
    assert not guard.check("please calm down").allowed

    path.write_text("read the manual\tcondescending\tLet me walk you through it\n", "utf-8")
    bump(path)
    assert watch.poll() == {"guard": []}
    assert guard.check("please calm down").allowed
    assert not guard.check("Read the manual!").allowed


def test_signature_sees_added_removed_and_touched_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", "x")
    before = signature([first, tmp_path / "missing.yaml"])
    assert [entry[0] for entry in before] == [str(first)]  # a missing file is skipped
    bump(first)
    assert signature([first]) != before
    second = write(tmp_path, "b.yaml", "y")
    assert len(signature([first, second])) == 2
