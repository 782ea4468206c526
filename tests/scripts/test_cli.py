"""`carebot scripts` and `carebot guard` through Typer's CliRunner."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from care.cli.guard import app as guard_app
from care.cli.scripts import app as scripts_app

runner = CliRunner()


def test_guard_check_blocks_with_reason_and_suggestion() -> None:
    result = runner.invoke(guard_app, ["check", "这是公司的规定，我也没办法"])
    assert result.exit_code == 1
    assert "这是公司的规定" in result.output
    assert "reason:" in result.output and "suggestion:" in result.output


def test_guard_check_allows_polite_text() -> None:
    result = runner.invoke(guard_app, ["check", "非常抱歉给您带来不便，我们马上为您处理"])
    assert result.exit_code == 0, result.output
    assert "allowed" in result.output


def test_guard_check_json() -> None:
    result = runner.invoke(guard_app, ["check", "Please calm down", "--json"])
    assert result.exit_code == 1
    verdict = json.loads(result.output)
    assert verdict["allowed"] is False and verdict["phrase"] == "calm down"
    result = runner.invoke(guard_app, ["check", "Thank you!", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["allowed"] is True


def test_guard_uses_the_configured_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine.tsv"
    path.write_text("亲\t太随意\t您好\n", encoding="utf-8")
    monkeypatch.setenv("FORBIDDEN_FILE", str(path))
    assert runner.invoke(guard_app, ["check", "亲，在的"]).exit_code == 1
    path.write_text("bad row\n", encoding="utf-8")
    result = runner.invoke(guard_app, ["check", "hi"])
    assert result.exit_code == 2


def test_settings_error_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    assert runner.invoke(guard_app, ["check", "hi"]).exit_code == 2
    assert runner.invoke(scripts_app, ["list"]).exit_code == 2


def test_scripts_lint_passes_on_the_bundled_library() -> None:
    result = runner.invoke(scripts_app, ["lint"])
    assert result.exit_code == 0, result.output
    assert "no problems" in result.output


def test_scripts_list_and_show() -> None:
    listed = runner.invoke(scripts_app, ["list"])
    assert listed.exit_code == 0 and "complaint.ack" in listed.output
    shown = runner.invoke(scripts_app, ["show", "complaint.ack"])
    assert shown.exit_code == 0
    assert "carebot maintainers" in shown.output and "{{ ticket_number }}" in shown.output
    assert runner.invoke(scripts_app, ["show", "nope"]).exit_code == 1


@pytest.fixture
def operator_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "operator"
    folder.mkdir()
    monkeypatch.setenv("SCRIPTS_DIR", str(folder))
    return folder


def test_lint_fails_listing_file_line_message(operator_dir: Path) -> None:
    (operator_dir / "bad.yaml").write_text(
        "- id: bad\n  purpose: complaint\n  channel: chat\n  text:\n"
        "    zh-Hans: 工单已创建。\n    en: Ticket created. Sorry.\n",
        encoding="utf-8",
    )
    result = runner.invoke(scripts_app, ["lint"])
    assert result.exit_code == 1
    assert (
        "operator/bad.yaml:5: bad: zh-Hans complaint script must open with empathy" in result.output
    )
    assert "operator/bad.yaml:6: bad: en complaint script must open with empathy" in result.output


def test_lint_reports_a_broken_file(operator_dir: Path) -> None:
    (operator_dir / "bad.yaml").write_text("- id: [\n", encoding="utf-8")
    result = runner.invoke(scripts_app, ["lint"])
    assert result.exit_code == 1 and "bad.yaml:" in result.output


def test_approve_refuses_a_script_failing_lint_then_approve_and_retire(operator_dir: Path) -> None:
    path = operator_dir / "hello.yaml"
    path.write_text(
        "# operator scripts\n- id: hello\n  purpose: p\n  channel: chat\n  text:\n"
        "    zh-Hans: 不可能\n    en: Hello\n  status: draft\n",
        encoding="utf-8",
    )
    refused = runner.invoke(scripts_app, ["approve", "hello", "--by", "Wang Fang"])
    assert refused.exit_code == 1 and "forbidden phrase" in refused.output
    assert "approved_by" not in path.read_text(encoding="utf-8")

    path.write_text(path.read_text(encoding="utf-8").replace("不可能", "您好"), encoding="utf-8")
    approved = runner.invoke(scripts_app, ["approve", "hello", "--by", "Wang Fang"])
    assert approved.exit_code == 0, approved.output
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# operator scripts\n")
    assert "status: approved" in text and 'approved_by: "Wang Fang"' in text
    assert 'approved_at: "20' in text and "approved_version:" in text

    retired = runner.invoke(scripts_app, ["retire", "hello"])
    assert retired.exit_code == 0
    assert "status: retired" in path.read_text(encoding="utf-8")
    assert runner.invoke(scripts_app, ["approve", "nope", "--by", "x"]).exit_code == 1


def test_override_of_a_bundled_script_is_approved_in_the_operator_folder(
    operator_dir: Path,
) -> None:
    bundled = Path(__file__).resolve().parents[2] / "scripts" / "library" / "faq.yaml"
    before = bundled.read_text(encoding="utf-8")
    shutil.copy(bundled, operator_dir / "faq.yaml")
    mine = operator_dir / "faq.yaml"
    mine.write_text(
        mine.read_text(encoding="utf-8").replace("营业时间", "开门时间"), encoding="utf-8"
    )
    assert runner.invoke(scripts_app, ["lint"]).exit_code == 1  # edited after approval
    result = runner.invoke(scripts_app, ["approve", "faq.hours", "--by", "Owner"])
    assert result.exit_code == 0, result.output
    assert bundled.read_text(encoding="utf-8") == before
    assert 'approved_by: "Owner"' in mine.read_text(encoding="utf-8")


def test_guard_check_names_the_clause_and_says_it_is_lexical() -> None:
    result = runner.invoke(guard_app, ["check", "好的。我们也真的没有办法，抱歉"])
    assert result.exit_code == 1
    assert "'我们也真的没有办法，'" in result.output and "'我也没办法'" in result.output
    assert "lexical only (no sentence encoder)" in result.output


def test_guard_check_file_writes_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "replies.txt"
    path.write_bytes("非常抱歉，我马上处理\n\n这不 归 我 管\n".encode() + b"calm down \xff\xfe\n")
    result = runner.invoke(guard_app, ["check", "--file", str(path), "--json"])
    assert result.exit_code == 1, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [(v["line"], v["allowed"]) for v in lines] == [(1, True), (3, False), (4, False)]
    assert lines[1]["phrase"] == "这不归我管" and lines[2]["invalid_utf8"] is True
    result = runner.invoke(guard_app, ["check", "--file", str(path)])
    assert f"{path}:3: blocked" in result.output


def test_guard_check_survives_undecodable_argv() -> None:
    # `carebot guard check "$(printf 'calm down \xff')"`: argv bytes that are not UTF-8
    # reach Python as lone surrogates (surrogateescape); they used to crash the printing.
    command = [sys.executable, "-c", "from bot.cli import main; main()", "guard", "check"]
    done = subprocess.run(
        [*command, b"calm down \xff"], capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 1, done.stderr
    assert b"Traceback" not in done.stderr and b"invalid UTF-8" in done.stderr
    assert b"calm down" in done.stdout
    result = runner.invoke(guard_app, ["check", "thanks \udcff", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["allowed"] is True


def test_guard_check_needs_text_or_file() -> None:
    assert runner.invoke(guard_app, ["check"]).exit_code == 2


def test_guard_eval_reports_rates_and_misses(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text(
        "text,expected,kind\n"
        "calm down,block,literal\n"
        "c a l m  d o w n,block,obfuscated\n"
        "Rules are rules mate,block,paraphrase\n"
        "Thanks for waiting,allow,good\n"
        "The storm should calm down soon,allow,good\n",
        encoding="utf-8",
    )
    result = runner.invoke(guard_app, ["eval", "--data", str(path)])
    assert result.exit_code == 0, result.output
    assert "literal" in result.output and "100.0%" in result.output
    assert "false-block rate (texts that must pass): 0.0%" in result.output
    result = runner.invoke(guard_app, ["eval", "--data", str(path), "--json"])
    report = json.loads(result.output)
    assert report["kinds"]["good"] == {"blocked": 0, "total": 2, "block_rate": 0.0}
    assert report["mode"] == "lexical"
    assert all(miss["expected"] == "block" for miss in report["misses"])


def test_guard_eval_rejects_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text("text,expected\nhello,maybe\n", encoding="utf-8")
    result = runner.invoke(guard_app, ["eval", "--data", str(path)])
    assert result.exit_code == 2 and f"{path}:2" in result.output
    path.write_text("words\nhello\n", encoding="utf-8")
    assert runner.invoke(guard_app, ["eval", "--data", str(path)]).exit_code == 2
