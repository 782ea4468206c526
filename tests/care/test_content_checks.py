"""An intent whose script does not exist is found at start, by both checks and by the watch;
carebot.toml typos are errors naming file:line."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from care.runtime.services import build_services
from care.runtime.settings import SettingsError, load_settings
from care.runtime.watch import content_watch
from intents import CatalogError
from tests.progress import describe, run_process

runner = CliRunner()

ORPHAN = """intents:
  - id: faq.orphan
    kind: faq
    script: faq.no_such_script
    examples:
      en: [where is the orphanage]
"""
LINE = (
    "orphan.yaml:2: intent faq.orphan answers with script faq.no_such_script, which does not exist"
)


@pytest.fixture
def orphan_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "ops-intents"
    folder.mkdir()
    (folder / "orphan.yaml").write_text(ORPHAN, encoding="utf-8")
    monkeypatch.setenv("INTENTS_DIR", str(folder))
    return folder


def test_intents_check_names_the_intent_and_the_missing_script(orphan_dir: Path) -> None:
    result = runner.invoke(app, ["intents", "check"])
    assert result.exit_code == 1, result.output
    assert LINE in result.output


def test_scripts_lint_names_the_intent_and_the_missing_script(orphan_dir: Path) -> None:
    result = runner.invoke(app, ["scripts", "lint"])
    assert result.exit_code == 1, result.output
    assert LINE in result.output
    assert "1 problem(s)" in result.output


def test_the_bundled_catalog_and_library_agree() -> None:
    assert runner.invoke(app, ["scripts", "lint"]).exit_code == 0
    assert runner.invoke(app, ["intents", "check"]).exit_code == 0


async def test_services_refuse_to_start(orphan_dir: Path, database_url: str) -> None:
    with pytest.raises(CatalogError) as caught:
        build_services(load_settings(database_url=database_url))
    assert LINE in str(caught.value)


def test_the_demo_refuses_to_start_in_one_line(
    orphan_dir: Path, tmp_path: Path, database_url: str
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    done = run_process(
        [str(Path(sys.executable).with_name("carebot")), "demo"],
        input="hello\n",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 2, describe(done)
    assert "Traceback" not in done.stderr and LINE in done.stderr, describe(done)
    assert [line for line in done.stderr.splitlines() if line.strip()] == [
        line for line in done.stderr.splitlines() if "content error" in line
    ]


async def test_the_watch_logs_an_intent_added_without_its_script(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "ops-intents"
    folder.mkdir()
    monkeypatch.setenv("INTENTS_DIR", str(folder))
    services = build_services(load_settings(database_url=database_url))
    try:
        watch = content_watch(services)
        (folder / "orphan.yaml").write_text(ORPHAN, encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="carebot.watch"):
            assert watch.poll() == {"intents": []}  # the catalog itself is fine
        assert [r.getMessage() for r in caplog.records if LINE in r.getMessage()]
        caplog.clear()
        (folder / "orphan.yaml").write_text(ORPHAN + "# touched\n", encoding="utf-8")
        with caplog.at_level(logging.WARNING, logger="carebot.watch"):
            watch.poll()
        assert not caplog.records  # reported once, not on every reload
    finally:
        await services.aclose()


# carebot.toml


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            'business_name = "x"\n\n[busines_hours]\nopen = "09:00"\n',
            "carebot.toml:3: unknown setting 'busines_hours' (did you mean 'business_hours'?)",
        ),
        (
            '[business_hours]\nopen = "09:00"\nclsoe = "20:00"\n',
            "carebot.toml:3: unknown setting 'business_hours.clsoe' (did you mean 'close'?)",
        ),
        (
            "[sla.complaint]\nfirst_response_minutes = 5\nresolution_hour = 2\n",
            "carebot.toml:3: unknown setting 'sla.complaint.resolution_hour'",
        ),
        (
            '[[care.custom_dates]]\nkey = "a"\nname = "b"\nmonth = 1\nday = 2\ncolour = 1\n',
            "carebot.toml:6: unknown setting 'care.custom_dates.colour'",
        ),
        ("timezon = 'Asia/Shanghai'\n", "carebot.toml:1: unknown setting 'timezon'"),
        ("[business_hours\nopen = 1\n", "carebot.toml: not valid TOML: "),
    ],
)
def test_config_file_problems_name_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, says: str
) -> None:
    config = tmp_path / "carebot.toml"
    config.write_text(text, encoding="utf-8")
    monkeypatch.setenv("CAREBOT_CONFIG", str(config))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert f"{tmp_path}/{says}" in str(caught.value)
    result = runner.invoke(app, ["calendar"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], result.output


def test_every_documented_section_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "carebot.toml"
    config.write_text(
        'business_name = "梁记茶庄"\ntimezone = "Asia/Hong_Kong"\nlanguages = ["zh-Hans", "en"]\n'
        'traditional_variant = "hk"\n'
        "[sla.complaint]\nfirst_response_minutes = 30\nresolution_hours = 24\ngold_factor = 0.5\n"
        '[business_hours]\nopen = "09:00"\nclose = "21:00"\n'
        "[care]\nbirthday_greetings = true\n"
        "[care.tiers]\ngold_share = 0.2\n"
        "[retention]\nmessages_days = 365\n[backup]\nkeep = 7\n"
        '[reports]\nweekly_digest = "MON 09:00"\n'
        "[staff]\nflood_per_minute = 20\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CAREBOT_CONFIG", str(config))
    settings = load_settings()
    assert settings.business_name == "梁记茶庄" and settings.backup.keep == 7
