"""Macro usage: `carebot scripts usage` and the report's `macros` section count what
staff did with macros and suggestions."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from care.cli import app
from care.reports.figures import ReportInput, build_report
from care.reports.period import parse_period
from care.runtime.settings import Settings
from storage import CustomerRepo, Database, MacroOutcome, MacroRepo, TicketRepo

NOW = datetime(2026, 11, 5, 4, 0, tzinfo=UTC)


async def _seed(url: str) -> None:
    database = Database(url)
    try:
        await database.upgrade()
        async with database.transaction() as session:
            customer = await CustomerRepo(session).upsert_from_telegram(9001, "Liang")
            assert customer.id is not None
            ticket = await TicketRepo(session).create(
                customer_id=customer.id, kind="complaint", subject="late", now=NOW,
                first_response_due=NOW + timedelta(minutes=30),
                resolution_due=NOW + timedelta(days=1),
            )  # fmt: skip
            assert ticket.id is not None
            repo = MacroRepo(session)
            await repo.suggest(
                ticket_id=ticket.id, source_message_id=1, now=NOW,
                ranked=[("macro.delivery.late", 60.0), ("macro.refund.status", 30.0)],
            )  # fmt: skip
            preview = await repo.open_preview(
                ticket_id=ticket.id, script_id="macro.delivery.late", staff_id=7001, values={},
                asking=None, suggestion_id=None, now=NOW,
            )  # fmt: skip
            assert preview.id is not None
            assert await repo.claim(preview.id, MacroOutcome.SENT, NOW)
            await repo.settle_suggestions(ticket.id, "macro.delivery.late", NOW)
            await repo.suggest(
                ticket_id=ticket.id, source_message_id=2, now=NOW,
                ranked=[("macro.closing.thanks", 70.0)],
            )  # fmt: skip
            await repo.settle_suggestions(ticket.id, None, NOW)
    finally:
        await database.dispose()


def test_scripts_usage_counts_and_hit_rate(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asyncio.run(_seed(settings.database_url))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    result = runner.invoke(app, ["scripts", "usage", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    late = summary["scripts"]["macro.delivery.late"]
    assert (late["sent"], late["suggested"], late["suggested_sent"]) == (1, 1, 1)
    assert summary["scripts"]["macro.refund.status"]["ignored"] == 1
    assert summary["scripts"]["macro.closing.thanks"]["ignored"] == 1
    assert (summary["suggestion_lines"], summary["suggestion_hits"]) == (2, 1)
    assert summary["hit_rate"] == 0.5
    table = runner.invoke(app, ["scripts", "usage"])
    assert table.exit_code == 0 and "macro.delivery.late" in table.output
    assert "hit rate 50.0%" in table.output
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'absent.db'}")
    missing = runner.invoke(app, ["scripts", "usage"])
    assert missing.exit_code == 2 and not (tmp_path / "absent.db").exists()


async def test_report_json_includes_macro_usage(settings: Settings) -> None:
    await _seed(settings.database_url)
    database = Database(settings.database_url)
    try:
        period = parse_period("2026-11-02", "2026-11-08", settings.zone, today=NOW.date())
        report = await build_report(database, ReportInput(settings, period, NOW))
    finally:
        await database.dispose()
    macros = json.loads(json.dumps(report))["current"]["macros"]
    assert macros["scripts"]["macro.delivery.late"]["sent"] == 1
    assert macros["hit_rate"] == 0.5
    assert report["previous"]["macros"]["scripts"] == {}  # the week before: nothing yet
