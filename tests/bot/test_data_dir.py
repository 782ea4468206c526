"""The data folder is resolved once (`CAREBOT_DATA_DIR`); every default file derives from it,
reading commands never create an empty database elsewhere, and the demo keeps its own."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from care.privacy.backups import backup_dir
from care.runtime.settings import load_settings
from storage import Database
from tests.progress import describe, run_process

runner = CliRunner()
CAREBOT = str(Path(sys.executable).with_name("carebot"))


def test_every_default_file_lives_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREBOT_DATA_DIR", str(tmp_path / "state"))
    settings = load_settings()
    folder = tmp_path / "state"
    assert settings.data_dir == folder
    assert settings.database_url == f"sqlite+aiosqlite:///{folder / 'carebot.db'}"
    assert settings.approval_key_file == folder / "approval.key"
    assert settings.intents_cache_dir == folder / "cache" / "intents"
    assert backup_dir(settings, Database(settings.database_url)) == folder / "backups"
    postgres = Database("postgresql+asyncpg://carebot@db/carebot")
    assert backup_dir(settings, postgres) == folder / "backups"


def test_the_default_is_data_in_the_starting_folder_resolved_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings()
    assert settings.data_dir == tmp_path / "data" and settings.data_dir.is_absolute()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a later chdir does not move the data
    assert settings.database_url.endswith(f"{tmp_path / 'data' / 'carebot.db'}")
    monkeypatch.setenv("CAREBOT_DATA_DIR", "relative/state")
    assert load_settings().data_dir == elsewhere / "relative" / "state"


def test_explicit_settings_still_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREBOT_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    monkeypatch.setenv("APPROVAL_KEY_FILE", str(tmp_path / "keys" / "k"))
    settings = load_settings()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    assert settings.approval_key_file == tmp_path / "keys" / "k"


@pytest.mark.parametrize(
    "command",
    [
        ["tickets", "list"],
        ["customers", "export"],
        ["report"],
        ["campaign", "list"],
        ["db", "backup"],
    ],
)
def test_reading_from_another_folder_creates_no_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    home = tmp_path / "shop"
    monkeypatch.setenv("CAREBOT_DATA_DIR", str(home / "data"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, [*command]).exit_code == 0 or command[0] == "db"

    monkeypatch.delenv("CAREBOT_DATA_DIR")
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.chdir(other)
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"no database at {other / 'data' / 'carebot.db'}")
    assert "CAREBOT_DATA_DIR" in lines[0] and "carebot db upgrade" in lines[0]
    assert not (other / "data" / "carebot.db").exists()


def test_db_current_says_which_database_without_creating_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = runner.invoke(app, ["db", "current"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        f"data folder: {tmp_path / 'data'} (default: data in this folder)",
        f"database: sqlite+aiosqlite:///{tmp_path / 'data' / 'carebot.db'} "
        "(default: carebot.db in the data folder)",
        "revision: (no database file yet: `carebot db upgrade` creates it)",
    ]
    assert not (tmp_path / "data" / "carebot.db").exists()

    monkeypatch.setenv("CAREBOT_DATA_DIR", str(tmp_path / "state"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    shown = runner.invoke(app, ["db", "current"])
    assert f"data folder: {tmp_path / 'state'} (from CAREBOT_DATA_DIR)" in shown.output
    assert f"{tmp_path / 'state' / 'carebot.db'} (default: carebot.db" in shown.output
    assert f"revision: {Database.head_revision()}" in shown.output


def test_the_demo_has_its_own_database(tmp_path: Path) -> None:
    env = {**os.environ, "CAREBOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    assert run_process([CAREBOT, "db", "upgrade"], env=env, cwd=tmp_path).returncode == 0
    demo = run_process(
        [CAREBOT, "demo"], input="我的快递三天还没到,太慢了\n", env=env, cwd=tmp_path
    )
    assert demo.returncode == 0, describe(demo)
    assert "C-" in demo.stdout  # a complaint ticket was opened ...

    real = run_process([CAREBOT, "tickets", "list"], env=env, cwd=tmp_path)
    assert real.returncode == 0, describe(real)
    assert "C-" not in real.stdout, real.stdout  # ... but not in the real database
    exported = run_process([CAREBOT, "customers", "export"], env=env, cwd=tmp_path)
    assert exported.returncode == 0 and "10001" not in exported.stdout, describe(exported)

    demo_db = {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'demo.db'}"}
    shown = run_process([CAREBOT, "tickets", "list"], env=demo_db, cwd=tmp_path)
    assert shown.returncode == 0 and "C-" in shown.stdout, describe(shown)
