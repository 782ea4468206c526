"""Approval cannot be forged: hand-written `status: approved` is not servable; the CLI's is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from care.cli.scripts import app as scripts_app
from scripts import (
    Guard,
    ScriptLibrary,
    ScriptNotServable,
    approve_script,
    lint_library,
    retire_script,
)
from scripts._model import content_version
from scripts._signing import MANIFEST_FILE, read_manifest
from tests.scripts.conftest import BUNDLED_DIR, FALLBACK, WriteScripts

HELLO = """
        - id: hello
          purpose: greeting
          channel: chat
          text:
            en: Hello {{ salutation }}!
            zh-Hans: 您好，{{ salutation }}！
          variables: [salutation]
          status: draft
"""


def _forge(path: Path, script_id: str, version: str) -> None:
    text = path.read_text(encoding="utf-8")
    marker = f"- id: {script_id}\n"
    forged = (
        f"{marker}  status: approved\n  approved_by: Boss\n"
        f'  approved_at: "2026-11-01T00:00:00Z"\n  approved_version: "{version}"\n'
    )
    path.write_text(
        text.replace(marker, forged, 1).replace("  status: draft\n", "", 1), encoding="utf-8"
    )


def test_hand_written_approval_is_not_servable(
    write_scripts: WriteScripts, guard: Guard, tmp_path: Path
) -> None:
    path = write_scripts("hello.yaml", HELLO + FALLBACK)
    key = tmp_path / "approval.key"
    version = ScriptLibrary.load([path.parent], key_file=key).scripts["hello"].version
    _forge(path, "hello", version)
    library = ScriptLibrary.load([path.parent], key_file=key)
    script = library.scripts["hello"]
    assert script.status == "approved" and script.approved_version == script.version
    with pytest.raises(ScriptNotServable, match="not signed"):
        library.servable("hello")
    assert any("not signed" in p.message for p in library.problems)
    lint = lint_library(library, guard, ["en"])
    assert [p.kind for p in lint if p.script_id == "hello"] == ["approval"]

    approve_script(library, "hello", "Wang Fang")  # the CLI's way
    assert library.servable("hello").approved_by == "Wang Fang"
    assert key.stat().st_mode & 0o777 == 0o600


def _approved_hello(write_scripts: WriteScripts, key: Path) -> tuple[Path, ScriptLibrary]:
    path = write_scripts("hello.yaml", HELLO + FALLBACK)
    library = ScriptLibrary.load([path.parent], key_file=key)
    approve_script(library, "hello", "Wang Fang")
    assert library.servable("hello")
    return path, library


def test_a_tampered_signed_approval_stops_serving(
    write_scripts: WriteScripts, tmp_path: Path
) -> None:
    key = tmp_path / "approval.key"
    path, _ = _approved_hello(write_scripts, key)
    # Another deployment's key does not vouch for this one's approvals.
    with pytest.raises(ScriptNotServable, match="not signed"):
        ScriptLibrary.load([path.parent], key_file=tmp_path / "other.key").servable("hello")
    path.write_text(
        path.read_text(encoding="utf-8").replace("Wang Fang", "The Owner"), encoding="utf-8"
    )
    with pytest.raises(ScriptNotServable, match="not signed"):
        ScriptLibrary.load([path.parent], key_file=key).servable("hello")


def test_retired_then_approved_by_hand_stays_retired(
    write_scripts: WriteScripts, tmp_path: Path
) -> None:
    key = tmp_path / "approval.key"
    path, library = _approved_hello(write_scripts, key)
    retire_script(library, "hello")
    path.write_text(
        path.read_text(encoding="utf-8").replace("status: retired", "status: approved"),
        encoding="utf-8",
    )
    with pytest.raises(ScriptNotServable, match="not signed"):
        ScriptLibrary.load([path.parent], key_file=key).servable("hello")


def test_without_a_key_file_an_operator_script_cannot_be_approved(
    write_scripts: WriteScripts,
) -> None:
    path = write_scripts("hello.yaml", HELLO)
    library = ScriptLibrary.load([path.parent])
    with pytest.raises(ScriptNotServable, match="no approval key"):
        approve_script(library, "hello", "Wang Fang")


def test_the_manifest_lists_every_bundled_script_at_its_current_version(
    bundled: ScriptLibrary,
) -> None:
    manifest = read_manifest()
    assert MANIFEST_FILE.parent == BUNDLED_DIR.parent
    current = {s.id: s.version for s in bundled.scripts.values()}
    stale = sorted(i for i in current.keys() | manifest.keys() if current.get(i) != manifest.get(i))
    assert not stale, (
        f"scripts/approvals.txt is out of step for {stale}: lint, then run "
        "`carebot scripts approve ID --by NAME` on each (it records bundled approvals there)"
    )
    assert all(script.servable for script in bundled.scripts.values())


def test_bundled_text_counts_as_approved_in_an_operator_copy_but_an_edit_does_not(
    tmp_path: Path,
) -> None:
    operator = tmp_path / "operator"
    operator.mkdir()
    copy = operator / "faq.yaml"
    shutil.copy(BUNDLED_DIR / "faq.yaml", copy)
    library = ScriptLibrary.load([operator], key_file=tmp_path / "approval.key")
    assert library.servable("faq.hours").file == copy  # the maintainers' text, unchanged

    # Edit the text and write the matching version by hand: still not servable.
    script = library.scripts["faq.hours"]
    templates = {lang: t.replace("营业时间", "开门时间") for lang, t in script.templates.items()}
    forged = content_version(templates, script.variables, script.channel, script.tier)
    text = copy.read_text(encoding="utf-8").replace("营业时间", "开门时间")
    copy.write_text(text.replace(script.version, forged), encoding="utf-8")
    library = ScriptLibrary.load([operator], key_file=tmp_path / "approval.key")
    assert library.scripts["faq.hours"].approved_version == library.scripts["faq.hours"].version
    with pytest.raises(ScriptNotServable, match="not signed"):
        library.servable("faq.hours")


def test_cli_show_says_why_a_forged_script_is_not_servable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = tmp_path / "operator"
    operator.mkdir()
    monkeypatch.setenv("SCRIPTS_DIR", str(operator))
    path = operator / "hello.yaml"
    path.write_text(HELLO.replace("        ", "").lstrip("\n"), encoding="utf-8")
    runner = CliRunner()
    version = ScriptLibrary.load([operator]).scripts["hello"].version
    _forge(path, "hello", version)
    shown = runner.invoke(scripts_app, ["show", "hello"])
    assert "not signed" in shown.output
    assert runner.invoke(scripts_app, ["lint"]).exit_code == 1
    approved = runner.invoke(scripts_app, ["approve", "hello", "--by", "Wang Fang"])
    assert approved.exit_code == 0, approved.output
    assert "approval_signature:" in path.read_text(encoding="utf-8")
    assert (tmp_path / "data" / "approval.key").exists()  # the default, beside the database
    listed = runner.invoke(scripts_app, ["list"])
    assert "hello" in listed.output and "not signed" not in listed.output
