"""`carebot customers import | export | retier | tier | show-data | forget`: customer profiles,
tiers, and a customer's access and erasure requests."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from care.cli.common import fail, progress_bar, settings_or_exit
from care.outreach.customers import CsvEncodingError, export_customers, import_customers
from care.outreach.tiers import retier as compute_retier
from care.privacy import access, erasure
from storage import Database, ForgetCounts, ProfileRepo, Tier

__all__ = ["app"]

app = typer.Typer(help="Customer profiles: CSV import/export and tiers.", no_args_is_help=True)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="CSV file; header names the columns.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report; write nothing.")
    ] = False,
    encoding: Annotated[str, typer.Option("--encoding", help="auto, utf-8 or gbk.")] = "auto",
) -> None:
    """Upsert customers by telegram_id; all rows or none (bad rows listed by line)."""
    settings = settings_or_exit()
    console = Console(stderr=True)

    async def _run() -> None:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            today = datetime.now(settings.zone).date()
            with progress_bar(console, "importing") as progress:
                task = progress.add_task("import", total=None)
                report = await import_customers(
                    database,
                    file,
                    today=today,
                    encoding=encoding,
                    dry_run=dry_run,
                    progress=lambda n: progress.advance(task, n),
                )
        finally:
            await database.dispose()
        if not report.ok:
            for problem in report.problems:
                typer.echo(f"{file}:{problem.line}: {problem.message}")
            if report.unlisted:
                typer.echo(f"{file}: ... and {report.unlisted} more problem(s) not listed")
            fail(f"nothing imported: {report.problem_count} problem(s) in {report.rows} row(s)", 1)
        verb = "would import" if dry_run else "imported"
        typer.echo(
            f"{verb} {report.rows} row(s) ({report.encoding}): {report.created} new, "
            f"{report.updated} updated"
        )

    try:
        asyncio.run(_run())
    except CsvEncodingError as exc:
        fail(f"{file}: {exc}", 1)
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}", 1)


@app.command("export")
def export(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File (default: stdout).")] = None,
    bom: Annotated[
        bool,
        typer.Option(
            "--bom/--no-bom", help="Start with a UTF-8 BOM so Excel reads Chinese (default)."
        ),
    ] = True,
) -> None:
    """Write every customer as CSV (UTF-8); the file can be edited and imported back.

    Cells that a spreadsheet would run as a formula (= + - @ ...) are prefixed with '.
    """
    settings = settings_or_exit(existing_database=True)

    async def _run() -> int:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            if out is None:
                return await export_customers(database, sys.stdout, bom=bom)
            with out.open("w", encoding="utf-8", newline="") as handle:
                return await export_customers(database, handle, bom=bom)
        finally:
            await database.dispose()

    count = asyncio.run(_run())
    typer.echo(f"exported {count} customer(s)", err=True)


@app.command("retier")
def retier(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report moves; write nothing.")
    ] = False,
) -> None:
    """Recompute tiers from spend, visits and referrals; report who moved."""
    settings = settings_or_exit(existing_database=True)

    async def _run() -> None:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            moves = await compute_retier(database, settings.care.tiers, dry_run=dry_run)
        finally:
            await database.dispose()
        table = Table("telegram id", "from", "to", "override (kept)")
        for move in moves:
            table.add_row(
                str(move.telegram_id),
                move.old.value,
                move.new.value,
                move.pinned.value if move.pinned else "",
            )
        Console().print(table)
        verb = "would move" if dry_run else "moved"
        typer.echo(f"{verb} {len(moves)} customer(s)")

    asyncio.run(_run())


@app.command("tier")
def set_tier(
    telegram_id: Annotated[int, typer.Argument(help="The customer's Telegram id.")],
    tier: Annotated[str, typer.Argument(help="gold, silver, regular, or auto to clear.")],
) -> None:
    """Pin a customer's tier by hand (survives retier), or `auto` to unpin."""
    settings = settings_or_exit(existing_database=True)
    if tier not in ("auto", *(t.value for t in Tier)):
        fail("tier must be gold, silver, regular or auto")

    async def _run() -> bool:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            async with database.transaction() as session:
                return await ProfileRepo(session).set_tier_override(
                    telegram_id, None if tier == "auto" else Tier(tier)
                )
        finally:
            await database.dispose()

    if not asyncio.run(_run()):
        fail(f"no customer with telegram id {telegram_id}", 1)
    typer.echo(f"customer {telegram_id}: tier {tier}")


class DataFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@app.command("show-data")
def show_data(
    telegram_id: Annotated[int, typer.Argument(help="The customer's Telegram id.")],
    format: Annotated[DataFormat, typer.Option("--format", help="text or json.")] = DataFormat.TEXT,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="File (default: stdout).")] = None,
) -> None:
    """Everything held about one customer (an access request), as one document."""
    settings = settings_or_exit(existing_database=True)

    async def _run() -> dict[str, Any] | None:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            return await access.collect(database, telegram_id, generated_at=stamp)
        finally:
            await database.dispose()

    document = asyncio.run(_run())
    if document is None:
        fail(f"no customer with telegram id {telegram_id} (never seen, or forgotten)", 1)
    render = access.render_json if format is DataFormat.JSON else access.render_text
    body = render(document)
    if out is None:
        typer.echo(body, nl=False)
        return
    out.write_text(body, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


@app.command("forget")
def forget(
    telegram_id: Annotated[int, typer.Argument(help="The customer's Telegram id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Also when staff hold one of the customer's open tickets."),
    ] = False,
) -> None:
    """Erase a customer's personal data; anonymous ticket rows stay for the reports.

    Names, birthday, spending, message texts, ticket subjects, CSAT comments, staff notes,
    greeting deliveries and care tasks go; tickets stay (kind, status, times, scores) under
    an anonymous customer. Open tickets are closed. The running bot deletes the tickets'
    staff-forum topics afterwards. Cannot be undone.
    """
    settings = settings_or_exit(existing_database=True)
    if not yes:
        typer.confirm(
            f"Erase everything held about customer {telegram_id}? This cannot be undone.",
            abort=True,
        )

    async def _run() -> ForgetCounts:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            return await erasure.forget(database, telegram_id, datetime.now(UTC), force=force)
        finally:
            await database.dispose()

    try:
        counts = asyncio.run(_run())
    except erasure.UnknownCustomer:
        fail(f"no customer with telegram id {telegram_id} (never seen, or already forgotten)", 1)
    except erasure.StaffHeld as held:
        fail(
            f"staff are working on {', '.join(held.numbers)} right now (taken, not resolved): "
            "erasing would remove the conversation they are answering. Resolve or /release it "
            "first, or run again with --force.",
            1,
        )
    typer.echo(
        f"customer {telegram_id} forgotten: {counts.tickets} ticket(s) kept anonymised "
        f"({counts.tickets_closed} closed now), {counts.messages} message text(s), "
        f"{counts.deliveries} delivery row(s) and {counts.care_tasks} care task(s) removed"
    )
