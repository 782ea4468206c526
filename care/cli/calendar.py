"""`carebot calendar [--year]`: the coming care occasions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from care.cli.common import settings_or_exit
from care.outreach.calendar import occasions, upcoming

__all__ = ["calendar"]


def calendar(
    year: Annotated[int | None, typer.Option("--year", help="List a whole year instead.")] = None,
    days: Annotated[int, typer.Option("--days", help="How far ahead (without --year).")] = 366,
) -> None:
    """List the coming occasions: public and lunar holidays and your custom dates."""
    settings = settings_or_exit()
    today = datetime.now(settings.zone).date()
    custom = settings.care.custom_dates
    items = occasions(year, custom) if year else upcoming(today, days, custom)
    table = Table("date", "occasion", "name", "kind", "in")
    for item in items:
        delta = (item.date - today).days
        table.add_row(
            item.date.isoformat(),
            item.key,
            f"{item.name} / {item.name_en}",
            item.kind,
            f"{delta} d" if delta >= 0 else "past",
        )
    Console().print(table)
    if settings.care.birthday_greetings:
        typer.echo(
            "birthday greetings: on (daily at "
            f"{settings.care.birthday_send_time:%H:%M} {settings.timezone})"
        )
    else:
        typer.echo("birthday greetings: off (set [care] birthday_greetings = true)")
