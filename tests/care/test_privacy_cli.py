"""`carebot customers show-data | forget` as an operator runs them, exports included."""

from __future__ import annotations

import asyncio
import json
from datetime import date

from typer.testing import CliRunner

from care.cli import app
from care.replies import Inbound
from care.runtime.services import build_services
from care.runtime.settings import Settings
from storage import ProfileRepo
from tests.storage.test_privacy import containing, every_value

MARK = "Wq4MARK"


async def _seed(settings: Settings, *, take: bool) -> str:
    """A customer with a marked profile and a complaint ticket (taken by staff if ``take``)."""
    services = build_services(settings)
    try:
        await services.database.upgrade()
        async with services.unit_of_work() as repos:
            turn = await services.conversation.message(
                repos,
                Inbound(
                    telegram_id=9001, first_name=f"{MARK}名", last_name=f"{MARK}姓",
                    content_type="text", text=f"我要投诉，{MARK} 快递太慢了",
                ),
            )  # fmt: skip
            assert turn.ticket is not None
            await ProfileRepo(repos.session).bulk_upsert(
                [{"telegram_id": 9001, "surname": f"{MARK}梁", "title": "小姐",
                  "birthday": date(1985, 4, 3)}]
            )  # fmt: skip
            if take:
                await repos.staff.assign(turn.ticket, 777, services.clock())
            return turn.ticket.number
    finally:
        await services.aclose()


async def _cells(settings: Settings) -> set[str]:
    services = build_services(settings)
    try:
        cells = await every_value(services.database)
    finally:
        await services.aclose()
    return containing(cells, MARK) | containing(cells, "1985-04-03")


def test_show_data_then_forget(settings: Settings, monkeypatch) -> None:
    number = asyncio.run(_seed(settings, take=True))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()

    shown = runner.invoke(app, ["customers", "show-data", "9001", "--format", "json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["profile"]["surname"] == f"{MARK}梁"
    assert document["profile"]["birthday"] == "1985-04-03"
    assert document["tickets"][0]["number"] == number
    transcript = [m["text"] for m in document["tickets"][0]["transcript"]]
    assert f"我要投诉，{MARK} 快递太慢了" in transcript
    text = runner.invoke(app, ["customers", "show-data", "9001"])
    assert text.exit_code == 0 and number in text.output and f"{MARK}梁" in text.output

    held = runner.invoke(app, ["customers", "forget", "9001", "--yes"])
    assert held.exit_code == 1 and number in held.output and "--force" in held.output
    assert "staff are working on" in held.output
    asked = runner.invoke(app, ["customers", "forget", "9001"], input="n\n")
    assert asked.exit_code == 1 and asyncio.run(_cells(settings))  # nothing erased

    done = runner.invoke(app, ["customers", "forget", "9001", "--yes", "--force"])
    assert done.exit_code == 0, done.output
    assert "1 ticket(s) kept anonymised (1 closed now)" in done.output

    assert asyncio.run(_cells(settings)) == set()
    for export in (
        ["customers", "export"],
        ["tickets", "export", "--format", "jsonl"],
        ["tickets", "export", "--format", "csv"],
    ):
        result = runner.invoke(app, export)
        assert result.exit_code == 0 and MARK not in result.output, export
    listed = runner.invoke(app, ["tickets", "list"])
    assert number in listed.output and "(forgotten)" in listed.output
    assert runner.invoke(app, ["tickets", "list", "--status", "closed"]).output.count("C-") == 1

    # Again: nobody with that id any more - a clear message, exit 1, nothing changes.
    again = runner.invoke(app, ["customers", "forget", "9001", "--yes"])
    assert again.exit_code == 1 and "no customer with telegram id 9001" in again.output
    unknown = runner.invoke(app, ["customers", "show-data", "123456"])
    assert unknown.exit_code == 1 and "no customer with telegram id 123456" in unknown.output
