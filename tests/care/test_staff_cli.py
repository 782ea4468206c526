"""`carebot tickets list | show | export` (typer CliRunner on a real database)."""

from __future__ import annotations

import asyncio
import json

from typer.testing import CliRunner

from care.cli import app
from care.replies import Inbound
from care.runtime.services import build_services
from care.runtime.settings import Settings


async def _seed(settings: Settings) -> str:
    services = build_services(settings)
    try:
        await services.database.upgrade()
        async with services.unit_of_work() as repos:
            turn = await services.conversation.message(
                repos,
                Inbound(
                    telegram_id=9001,
                    first_name="Liang",
                    content_type="text",
                    text="我要投诉，快递太慢了",
                ),
            )
            assert turn.ticket is not None
            return turn.ticket.number
    finally:
        await services.aclose()


def test_list_show_export(settings: Settings, monkeypatch) -> None:
    number = asyncio.run(_seed(settings))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    listed = runner.invoke(app, ["tickets", "list", "--status", "new"])
    assert listed.exit_code == 0 and number in listed.output
    shown = runner.invoke(app, ["tickets", "show", number])
    assert shown.exit_code == 0 and "快递太慢了" in shown.output and "transcript:" in shown.output
    assert runner.invoke(app, ["tickets", "show", "C-00000000-0000"]).exit_code == 1
    jsonl = runner.invoke(app, ["tickets", "export", "--format", "jsonl"])
    record = json.loads(jsonl.output.splitlines()[0])
    assert record["number"] == number and record["transcript"][0]["text"] == "我要投诉，快递太慢了"
    assert record["resolved_at"] == record["closed_at"] == ""  # still open
    csv_out = runner.invoke(app, ["tickets", "export", "--format", "csv"])
    assert (
        csv_out.exit_code == 0
        and csv_out.output.startswith("\ufeffnumber,")  # BOM: Excel reads UTF-8
        and number in csv_out.output
    )
