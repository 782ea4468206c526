"""Bad input to the `carebot` console script: one clear line and an exit code, never a traceback.

Every command goes through the real entry point (`bot.cli.app`, what `carebot` runs); the
`run` cases start the installed console script itself.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lunardate import LunarDate
from typer.testing import CliRunner, Result

from bot.cli import app
from storage import CampaignRepo, Database
from tests.progress import describe, run_process

runner = CliRunner()
CAREBOT = str(Path(sys.executable).with_name("carebot"))


def one_line_error(result: Result, code: int = 2) -> str:
    """The command failed with `code` and said why in exactly one line, without a traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def flat(output: str) -> str:
    """Rich tables wrap long lines: compare with single spaces."""
    return " ".join(output.split())


@pytest.fixture
def db_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return database_url


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def _created_date(output: str) -> date:
    found = re.search(r"created campaign \d+ \(\S+ (\d{4}-\d{2}-\d{2})\)", output)
    assert found, output
    return date.fromisoformat(found.group(1))


@pytest.mark.parametrize(
    ("occasion", "lunar"),
    [("qixi", (7, 7)), ("mid_autumn", (8, 15)), ("spring_festival", (1, 1))],
)
def test_create_without_date_takes_the_next_date_from_the_calendar(
    db_env: str, occasion: str, lunar: tuple[int, int]
) -> None:
    today = _today()
    expected = LunarDate(today.year, *lunar).to_solar_date()
    if expected < today:
        expected = LunarDate(today.year + 1, *lunar).to_solar_date()
    result = runner.invoke(app, ["campaign", "create", occasion])
    assert result.exit_code == 0, result.output
    assert _created_date(result.output) == expected
    assert f"{occasion}: {expected.isoformat()} (next date in the care calendar)" in result.output


def test_create_warns_when_the_date_is_not_the_calendars(db_env: str) -> None:
    result = runner.invoke(app, ["campaign", "create", "mid_autumn", "--date", "2027-09-16"])
    assert result.exit_code == 0, result.output
    assert "warning: the care calendar puts mid_autumn in 2027 on 2027-09-15" in result.output
    assert _created_date(result.output) == date(2027, 9, 16)  # kept as given
    same = runner.invoke(app, ["campaign", "create", "mid_autumn", "--date", "2027-09-15"])
    assert same.exit_code == 0 and "warning" not in same.output, same.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--date", "15/09/2027"], "--date: '15/09/2027' is not a date; use YYYY-MM-DD"),
        (["--window-start", "tomorrow"], "--window-start: 'tomorrow' is not a date and time"),
        (["--window-end", "9pm"], "--window-end: '9pm' is not a date and time"),
        (
            ["--tiers", "gold,platinum"],
            "--tiers: unknown 'platinum' (known: gold, silver, regular)",
        ),
        (["--languages", "fr"], "--languages: unknown 'fr' (known: zh-Hans, zh-Hant, en)"),
        (["--gold", "greeting.nope"], "--gold: script 'greeting.nope' does not exist"),
    ],
)
def test_create_refuses_bad_options_in_one_line(db_env: str, args: list[str], says: str) -> None:
    result = runner.invoke(app, ["campaign", "create", "mid_autumn", *args])
    assert says in one_line_error(result)
    listed = runner.invoke(app, ["campaign", "list"])
    assert listed.exit_code == 0 and "mid_autumn" not in listed.output  # nothing was saved


def test_unknown_occasion_is_refused_with_the_known_ones(db_env: str) -> None:
    line = one_line_error(runner.invoke(app, ["campaign", "create", "valentines"]))
    assert line.startswith("unknown occasion 'valentines'; known: new_year, labor_day")
    assert "mid_autumn" in line and "qixi" in line


def test_custom_occasions_are_known_and_a_missing_script_is_named_by_its_id(
    db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "carebot.toml"
    config.write_text(
        '[[care.custom_dates]]\nkey = "anniversary"\nname = "店庆"\nmonth = 6\nday = 18\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CAREBOT_CONFIG", str(config))
    result = runner.invoke(app, ["campaign", "create", "anniversary"])
    assert result.exit_code == 0, result.output
    created = _created_date(result.output)
    assert (created.month, created.day) == (6, 18) and created >= _today()
    assert "(店庆 " in result.output
    # The bundled library has no greeting for the shop's own date.
    assert "warning: gold: no script greeting.anniversary.gold" in result.output
    preview = runner.invoke(app, ["campaign", "preview", "1"])
    assert preview.exit_code == 0, preview.output
    assert "script greeting.anniversary.gold does not exist" in flat(preview.output)
    refused = runner.invoke(app, ["campaign", "schedule", "1"])
    assert refused.exit_code == 1
    assert "script greeting.anniversary.regular does not exist" in flat(refused.output)


def test_preview_survives_a_campaign_saved_with_an_unknown_tier(db_env: str) -> None:
    created = runner.invoke(app, ["campaign", "create", "mid_autumn", "--tiers", "gold"])
    assert created.exit_code == 0, created.output

    async def corrupt() -> None:  # a row written before tiers were checked
        database = Database(db_env)
        try:
            async with database.transaction() as session:
                campaign = await CampaignRepo(session).get(1)
                assert campaign is not None
                campaign.audience = '{"tiers": ["gold", "platinum"]}'
                await CampaignRepo(session).save(campaign)
        finally:
            await database.dispose()

    asyncio.run(corrupt())
    preview = runner.invoke(app, ["campaign", "preview", "1"])
    assert preview.exit_code == 0, preview.output
    assert "audience: unknown tier 'platinum'" in flat(preview.output)
    refused = runner.invoke(app, ["campaign", "schedule", "1"])
    assert refused.exit_code == 1 and "unknown tier 'platinum'" in refused.output
    assert "Traceback" not in refused.output


def test_run_with_a_malformed_token_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for token in ("notatoken", "123456:", "abc:def", "123 456:xyz"):
        monkeypatch.setenv("BOT_TOKEN", token)
        line = one_line_error(runner.invoke(app, ["run"]))
        assert line.startswith("configuration error: BOT_TOKEN is not a bot token")
        assert token not in line or token == "123456:"  # the secret is never echoed whole


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_run_without_network_is_one_line_exit_2(tmp_path: Path, database_url: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    env = {
        **os.environ,
        "BOT_TOKEN": "123456:TEST-token",
        "TELEGRAM_API_URL": url,
        "DATABASE_URL": database_url,
    }
    done = run_process([CAREBOT, "run"], env=env, cwd=tmp_path)
    assert done.returncode == 2, describe(done)
    assert "Traceback" not in done.stderr, describe(done)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, describe(done)
    assert lines[0].startswith(f"cannot reach Telegram at {url}: "), describe(done)
    assert "TELEGRAM_API_URL" in lines[0]
