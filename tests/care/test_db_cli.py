"""`carebot db upgrade | current | copy` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from care.cli import app


def test_upgrade_current_and_copy_to_an_empty_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    runner = CliRunner()
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0 and "revision" in upgraded.output
    assert runner.invoke(app, ["db", "current"]).output.strip()

    target = f"sqlite:///{tmp_path / 'b.db'}"
    copied = runner.invoke(app, ["db", "copy", "--to", target])
    assert copied.exit_code == 0, copied.output
    assert "copied 0 rows" in copied.output
    again = runner.invoke(app, ["db", "copy", "--to", f"sqlite:///{tmp_path / 'a.db'}"])
    assert again.exit_code == 2 and "same database" in again.output
    bad = runner.invoke(app, ["db", "copy", "--to", "mysql://x"])
    assert bad.exit_code == 2 and "--to" in bad.output
