"""The `carebot` command line: one Typer app, one sub-app per topic.

Commands that need Telegram (`run`, `demo`) are added by `bot.cli`, the console
script's entry point, so that `care` never imports the framework.
"""

from __future__ import annotations

import logging

import typer

from care.cli import (
    bench,
    calendar,
    campaign,
    customers,
    db,
    guard,
    intents,
    report,
    scripts,
    tickets,
)

__all__ = ["app"]

app = typer.Typer(
    help=(
        "carebot: a customer-care bot for Telegram (FAQ answers, complaint tickets, "
        "care greetings)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(intents.app, name="intents")
app.add_typer(scripts.app, name="scripts")
app.add_typer(guard.app, name="guard")
app.add_typer(bench.app, name="bench", help="Benchmarks: print a table and write BENCHMARKS.md.")
app.add_typer(customers.app, name="customers")
app.add_typer(campaign.app, name="campaign")
app.add_typer(tickets.app, name="tickets")
app.command("calendar")(calendar.calendar)
app.command("report")(report.report)


@app.callback()
def _root(
    log_level: str = typer.Option("WARNING", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
) -> None:
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
