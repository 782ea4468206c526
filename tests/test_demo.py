"""The console demo as a user runs it: piped lines in, one reply block per line out."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app as cli_app
from tests.progress import run_process


def test_scripted_demo_answers_complaint_then_hours(tmp_path: Path) -> None:
    env = {**os.environ, "CAREBOT_CONFIG": str(tmp_path / "none.toml")}
    env.pop("DATABASE_URL", None)
    done = run_process(
        [sys.executable, "-m", "bot", "demo"],
        input="我的快递三天还没到,太慢了\n请问你们几点关门\n",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split("you> ")[1:3]
    assert re.search(r"C-\d{8}-\d{4}", first), first
    assert re.search("抱歉|对不起", first)
    assert re.search(r"\d{1,2}:\d{2}", second) and "营业" in second, second
    assert (tmp_path / "data" / "demo.db").exists(), "the demo's own database, made on first run"
    assert not (tmp_path / "data" / "carebot.db").exists(), "the real database is not touched"


def test_demo_survives_hostile_lines(tmp_path: Path) -> None:
    env = {**os.environ, "CAREBOT_CONFIG": str(tmp_path / "none.toml")}
    lines = ["", "{{ 7*7 }}", "<b>x</b>", "'; DROP TABLE customer;--", "😀", "x" * 5000, "9"]
    done = run_process(
        [sys.executable, "-m", "bot", "demo"],
        input="\n".join(lines) + "\n",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("you> ") == len(lines)
    assert done.stdout.count("bot> ") >= len(lines)
    assert "49" not in done.stdout


def test_demo_reads_bytes_that_are_not_utf8() -> None:
    # In process (CliRunner's stdin is a real TextIOWrapper over the bytes): no interpreter
    # start-up, so it stays quick on a loaded machine.
    result = CliRunner().invoke(cli_app, ["demo"], input=b"\xff\xfe hi\n\xe4\xbd\xa0\xe5\xa5\xbd\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("you> ") == 2 and "\ufffd\ufffd hi" in result.output
    assert "请问有什么可以帮您" in result.output.split("you> 你好")[1], result.output


def test_demo_trace_says_why_the_bot_answered(tmp_path: Path) -> None:
    """`--trace`: one line per turn with the intent, score, act, flow, state and ticket."""
    lines = ["我的快递三天还没到,太慢了", "订单号是 SF1234567890", "还有人吗", "/start"]
    database = f"sqlite+aiosqlite:///{tmp_path / 'trace.db'}"
    result = CliRunner().invoke(
        cli_app, ["demo", "--trace", "--database", database], input="\n".join(lines) + "\n"
    )
    assert result.exit_code == 0, result.output
    traces = [line for line in result.output.splitlines() if "[trace]" in line]
    assert len(traces) == len(lines), result.output
    complaint, details, waiting, command = traces
    assert "intent=complaint" in complaint and re.search(r"score=\d+\.\d", complaint)
    assert re.search(r"ticket=C-\d{8}-\d{4}", complaint) and "complaints:1" in complaint
    assert "flow=details" in details and "asked:" in details
    assert "act=waiting" in waiting and "flow=waiting" in waiting
    assert "no conversation turn" in command
