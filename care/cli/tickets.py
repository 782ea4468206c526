"""`carebot tickets`: list, show and export tickets with their transcripts and audit trail."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import typer

from care.cli.common import fail, settings_or_exit
from care.spreadsheet import CsvOut
from care.uow import Repos
from storage import Database, Ticket, TicketStatus

__all__ = ["app"]

app = typer.Typer(help="Tickets: list, show one with its transcript, export.", no_args_is_help=True)

T = TypeVar("T")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


def _run(work: Callable[[Repos], Awaitable[T]]) -> T:
    settings = settings_or_exit(existing_database=True)

    async def main() -> T:
        database = Database(settings.database_url)
        try:
            await database.upgrade()
            async with database.session() as session:
                return await work(Repos.bind(session))
        finally:
            await database.dispose()

    return asyncio.run(main())


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""


async def _record(repos: Repos, ticket: Ticket) -> dict[str, Any]:
    """One ticket as plain data: fields, customer, transcript and events."""
    assert ticket.id is not None
    customer = await repos.customers.get(ticket.customer_id)
    messages = await repos.messages.for_ticket(ticket.id)
    events = await repos.staff.events(ticket.id)
    return {
        "number": ticket.number,
        "kind": ticket.kind.value,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "customer_telegram_id": customer.telegram_id if customer else None,
        "customer_name": customer.first_name if customer else None,
        "tier": customer.effective_tier.value if customer else None,
        "subject": ticket.subject,
        "assignee_id": ticket.assignee_id,
        "created_at": _when(ticket.created_at),
        "first_response_due": _when(ticket.first_response_due),
        "first_responded_at": _when(ticket.first_responded_at),
        "resolution_due": _when(ticket.resolution_due),
        "resolved_at": _when(ticket.resolved_at),
        "closed_at": _when(ticket.closed_at),
        "csat_score": ticket.csat_score,
        "csat_comment": ticket.csat_comment,
        "transcript": [
            {
                "at": _when(m.created_at),
                "direction": m.direction.value,
                "type": m.content_type.value,
                "text": m.text,
            }
            for m in messages
        ],
        "events": [
            {"at": _when(e.created_at), "kind": e.kind.value, "actor": e.actor_name, "text": e.text}
            for e in events
        ],
    }


@app.command("list")
def list_tickets(
    status: TicketStatus | None = typer.Option(None, "--status", help="Only this status."),
    limit: int = typer.Option(100, "--limit", min=1),
) -> None:
    """Newest first: number, status, kind, priority, customer, subject."""

    async def work(repos: Repos) -> list[str]:
        rows = []
        for ticket in await repos.tickets.list(status, limit=limit):
            customer = await repos.customers.get(ticket.customer_id)
            who = "?" if customer is None else customer.first_name
            if customer is not None and customer.forgotten_at is not None:
                who = "(forgotten)"
            subject = " ".join(ticket.subject.split())[:60]
            rows.append(
                f"{ticket.number}\t{ticket.status.value}\t{ticket.kind.value}\t"
                f"{ticket.priority.value}\t{who}\t{subject}"
            )
        return rows

    for row in _run(work):
        typer.echo(row)


@app.command()
def show(number: str) -> None:
    """One ticket: fields, transcript, events."""

    async def work(repos: Repos) -> dict[str, Any] | None:
        ticket = await repos.tickets.get_by_number(number)
        return await _record(repos, ticket) if ticket else None

    record = _run(work)
    if record is None:
        fail(f"no ticket {number}", code=1)
    for key, value in record.items():
        if key not in ("transcript", "events"):
            typer.echo(f"{key}: {'' if value is None else value}")
    typer.echo("transcript:")
    for line in record["transcript"]:
        arrow = "<-" if line["direction"] == "in" else "->"
        typer.echo(f"  {line['at']} {arrow} [{line['type']}] {line['text'] or ''}")
    typer.echo("events:")
    for event in record["events"]:
        typer.echo(f"  {event['at']} {event['kind']} {event['actor'] or ''} {event['text'] or ''}")


@app.command()
def export(
    format: ExportFormat = typer.Option(ExportFormat.JSONL, "--format", help="csv or jsonl."),
    status: TicketStatus | None = typer.Option(None, "--status"),
    limit: int = typer.Option(10_000, "--limit", min=1),
    bom: bool = typer.Option(
        True, "--bom/--no-bom", help="CSV: start with a UTF-8 BOM so Excel reads Chinese."
    ),
) -> None:
    """Every ticket with its transcript, to stdout (CSV: transcript as one JSON column;
    cells a spreadsheet would run as a formula are prefixed with ')."""

    async def work(repos: Repos) -> list[dict[str, Any]]:
        return [await _record(repos, t) for t in await repos.tickets.list(status, limit=limit)]

    records = _run(work)
    if format is ExportFormat.JSONL:
        for record in records:
            typer.echo(json.dumps(record, ensure_ascii=False))
        return
    buffer = io.StringIO()
    fields = [k for k in (records[0] if records else {"number": None}) if k != "events"]
    writer = CsvOut(buffer, bom=bom)
    writer.row(fields)
    for record in records:
        cells = {**record, "transcript": json.dumps(record["transcript"], ensure_ascii=False)}
        writer.row(cells[name] for name in fields)
    typer.echo(buffer.getvalue(), nl=False)
