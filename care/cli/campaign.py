"""`carebot campaign create | list | preview | schedule | pause | resume | cancel | report`.

`campaign send` needs Telegram, so `bot.cli.campaign` adds it to this app (care never
imports the framework).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from care.cli.common import fail, settings_or_exit
from care.outreach.campaigns import Audience, CampaignDesk, CampaignError, Preview
from care.outreach.wiring import campaign_desk
from care.runtime.services import build_services
from storage import CampaignStatus, DeliveryStatus, Tier

__all__ = ["app", "counts_table", "with_desk"]

app = typer.Typer(
    help="Care campaigns: greetings per tier, paced and resumable.", no_args_is_help=True
)
T = TypeVar("T")


def with_desk(work: Callable[[CampaignDesk], Awaitable[T]]) -> T:
    """Run `work` with a desk over freshly built services; refusals exit 1 with reasons."""
    settings = settings_or_exit()

    async def _run() -> T:
        services = build_services(settings)
        try:
            await services.database.upgrade()
            return await work(campaign_desk(services))
        finally:
            await services.aclose()

    try:
        return asyncio.run(_run())
    except CampaignError as exc:
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        fail("refused", 1)


def counts_table(counts: dict[tuple[Tier, DeliveryStatus], int], title: str = "") -> Table:
    """Per-tier outcome table: sent / failed / blocked / skipped / pending / sending."""
    statuses = [
        DeliveryStatus.SENT,
        DeliveryStatus.FAILED,
        DeliveryStatus.BLOCKED,
        DeliveryStatus.SKIPPED,
        DeliveryStatus.PENDING,
        DeliveryStatus.SENDING,
    ]
    table = Table("tier", *(s.value for s in statuses), "total", title=title or None)
    for tier in [*Tier, None]:
        row = [
            sum(n for (t, s), n in counts.items() if s is st and (tier is None or t is tier))
            for st in statuses
        ]
        table.add_row(tier.value if tier else "all", *map(str, row), str(sum(row)))
    return table


def _print_preview(preview: Preview) -> None:
    c = preview.campaign
    console = Console()
    console.print(
        f"campaign {c.id}: {escape(c.name)} ({c.status.value}) occasion {c.occasion} "
        f"window {c.window_start:%Y-%m-%d %H:%M} - {c.window_end:%Y-%m-%d %H:%M} UTC"
    )
    table = Table("tier", "recipients", "script", "sample")
    for tier in Tier:
        sample = preview.samples.get(tier, "")
        text = sample if isinstance(sample, str) else sample.plain
        table.add_row(tier.value, str(preview.recipients[tier]), c.script_for(tier) or "-", text)
    console.print(table)
    for reason, n in preview.skipped.items():
        console.print(f"{reason}: {n}")
    for problem in preview.problems:
        console.print(f"[red]cannot schedule:[/] {problem}")


def _parse_when(value: str | None, settings_zone: object) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=settings_zone)  # type: ignore[arg-type]


@app.command("create")
def create(
    occasion: Annotated[str, typer.Argument(help="Occasion key, e.g. spring_festival.")],
    on: Annotated[str | None, typer.Option("--date", help="Occasion date (YYYY-MM-DD).")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    gold: Annotated[str | None, typer.Option("--gold", help="Script id for gold.")] = None,
    silver: Annotated[str | None, typer.Option("--silver", help="Script id for silver.")] = None,
    regular: Annotated[str | None, typer.Option("--regular", help="Script id for regular.")] = None,
    tiers: Annotated[str, typer.Option("--tiers", help="Only these tiers (comma list).")] = "",
    languages: Annotated[str, typer.Option("--languages", help="Only these languages.")] = "",
    window_start: Annotated[
        str | None, typer.Option("--window-start", help="ISO date-time.")
    ] = None,
    window_end: Annotated[str | None, typer.Option("--window-end", help="ISO date-time.")] = None,
    paid: Annotated[bool, typer.Option("--paid", help="Paid broadcast (up to 1,000/s).")] = False,
    by: Annotated[str, typer.Option("--by", help="Who creates it.")] = "cli",
) -> None:
    """Create a draft campaign (scripts default to greeting.<occasion>.<tier>)."""
    settings = settings_or_exit()
    scripts = None
    if gold or silver or regular:
        scripts = {Tier.GOLD: gold, Tier.SILVER: silver, Tier.REGULAR: regular}
    start = _parse_when(window_start, settings.zone)
    end = _parse_when(window_end, settings.zone)
    day = date.fromisoformat(on) if on else None

    async def _work(desk: CampaignDesk) -> None:
        window = None
        if start or end:
            from care.outreach.campaigns import default_window

            d_start, d_end = default_window(day or (start or end or desk.clock()).date(), settings)
            window = (start or d_start, end or d_end)
        campaign = await desk.create(
            occasion,
            occasion_date=day,
            name=name,
            scripts=scripts,
            audience=Audience(
                tiers=tuple(t for t in tiers.split(",") if t),
                languages=tuple(x for x in languages.split(",") if x),
            ),
            window=window,
            paid=paid or None,
            created_by=by,
        )
        typer.echo(
            f"created campaign {campaign.id} ({campaign.name}); next: "
            f"carebot campaign preview {campaign.id}"
        )

    with_desk(_work)


@app.command("list")
def list_() -> None:
    """Recent campaigns."""

    async def _work(desk: CampaignDesk) -> None:
        table = Table("id", "name", "occasion", "status", "window start (UTC)", "paid")
        for c in await desk.list_campaigns():
            table.add_row(
                str(c.id),
                c.name,
                c.occasion,
                c.status.value,
                f"{c.window_start:%Y-%m-%d %H:%M}",
                "yes" if c.paid_broadcast else "",
            )
        Console().print(table)

    with_desk(_work)


@app.command("preview")
def preview(campaign_id: Annotated[int, typer.Argument()]) -> None:
    """Recipients per tier and one rendered sample per tier."""

    async def _work(desk: CampaignDesk) -> None:
        _print_preview(await desk.preview(campaign_id))

    with_desk(_work)


@app.command("schedule")
def schedule(campaign_id: Annotated[int, typer.Argument()]) -> None:
    """Validate scripts, write the delivery ledger; `carebot run` sends it in its window."""

    async def _work(desk: CampaignDesk) -> None:
        result = await desk.schedule(campaign_id)
        _print_preview(result)
        typer.echo(f"scheduled campaign {campaign_id}")

    with_desk(_work)


def _status_command(status: CampaignStatus, verb: str) -> Callable[[int], None]:
    def command(campaign_id: Annotated[int, typer.Argument()]) -> None:
        async def _work(desk: CampaignDesk) -> None:
            campaign = await desk.set_status(campaign_id, status)
            typer.echo(f"campaign {campaign_id} {verb} (now {campaign.status.value})")

        with_desk(_work)

    command.__doc__ = {"paused": "Pause", "resumed": "Resume", "cancelled": "Cancel"}[verb] + (
        " a campaign."
    )
    return command


app.command("pause")(_status_command(CampaignStatus.PAUSED, "paused"))
app.command("resume")(_status_command(CampaignStatus.RUNNING, "resumed"))
app.command("cancel")(_status_command(CampaignStatus.CANCELLED, "cancelled"))


@app.command("report")
def report(campaign_id: Annotated[int, typer.Argument()]) -> None:
    """Outcomes per tier from the ledger."""

    async def _work(desk: CampaignDesk) -> None:
        campaign = await desk.get(campaign_id)
        counts = await desk.counts(campaign_id)
        Console().print(
            counts_table(
                counts, f"campaign {campaign_id}: {escape(campaign.name)} ({campaign.status.value})"
            )
        )

    with_desk(_work)
