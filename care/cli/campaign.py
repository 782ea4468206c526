"""`carebot campaign create | list | preview | schedule | pause | resume | cancel | report`.

`campaign send` needs Telegram, so `bot.cli.campaign` adds it to this app (care never
imports the framework).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, tzinfo
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from care.cli.common import fail, settings_or_exit
from care.outreach.calendar import (
    greeting_script,
    known_occasions,
    next_occasion_date,
    occasion_date,
)
from care.outreach.campaigns import (
    Audience,
    CampaignDesk,
    CampaignError,
    Preview,
    default_window,
)
from care.outreach.wiring import campaign_desk
from care.runtime.services import build_services
from care.runtime.settings import Settings
from intents import CatalogError
from scripts import LibraryError
from storage import CampaignStatus, DeliveryStatus, Tier

__all__ = ["app", "counts_table", "with_desk"]

app = typer.Typer(
    help="Care campaigns: greetings per tier, paced and resumable.", no_args_is_help=True
)
T = TypeVar("T")


def with_desk(work: Callable[[CampaignDesk], Awaitable[T]], *, existing: bool = True) -> T:
    """Run `work` with a desk over freshly built services; refusals exit 1 with reasons.

    ``existing``: the database must already be there (every command but `create`).
    """
    settings = settings_or_exit(existing_database=existing)

    async def _run() -> T:
        services = build_services(settings)
        try:
            await services.database.upgrade()
            return await work(campaign_desk(services))
        finally:
            await services.aclose()

    try:
        return asyncio.run(_run())
    except (CatalogError, LibraryError) as exc:
        fail(f"content error: {exc}")
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


_TIERS = tuple(tier.value for tier in Tier)
_LANGUAGES = ("zh-Hans", "zh-Hant", "en")


def _parse_when(option: str, value: str | None, zone: tzinfo) -> datetime | None:
    """An ISO date-time option (local to `zone` unless it carries an offset), or one line."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{option}: {value!r} is not a date and time; use ISO form, e.g. 2027-09-15T09:00")
    return when if when.tzinfo else when.replace(tzinfo=zone)


def _parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date: {value!r} is not a date; use YYYY-MM-DD, e.g. 2027-09-15")


def _comma_list(option: str, value: str, known: Sequence[str]) -> tuple[str, ...]:
    items = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [item for item in items if item not in known]
    if unknown:
        fail(f"{option}: unknown {', '.join(map(repr, unknown))} (known: {', '.join(known)})")
    return items


def _occasion_day(occasion: str, on: str | None, settings: Settings) -> date:
    """The occasion's date: --date, else its next date in the care calendar.

    An unknown occasion is refused with the known ones; a --date the calendar disagrees
    with is kept, with a warning naming the calendar's date.
    """
    custom = settings.care.custom_dates
    known = known_occasions(custom)
    if occasion not in known:
        hint = ""
        if occasion == "birthday":
            hint = " (birthday greetings run daily by themselves: [care] birthday_greetings)"
        fail(f"unknown occasion {occasion!r}{hint}; known: {', '.join(known)}")
    today = datetime.now(settings.zone).date()
    if on is None:
        day = next_occasion_date(occasion, today, custom)
        if day is None:
            fail(f"the calendar has no coming date for {occasion!r}; give one with --date")
        return day
    day = _parse_day(on)
    expected = occasion_date(occasion, day.year, custom)
    if expected is not None and expected != day:
        typer.secho(
            f"warning: the care calendar puts {occasion} in {day.year} on "
            f"{expected.isoformat()}, not {day.isoformat()} (kept as given)",
            err=True,
            fg=typer.colors.YELLOW,
        )
    return day


@app.command("create")
def create(
    occasion: Annotated[
        str, typer.Argument(help="Occasion key, e.g. mid_autumn (`carebot calendar`).")
    ],
    on: Annotated[
        str | None,
        typer.Option("--date", help="Occasion date (YYYY-MM-DD); default: its next date."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    gold: Annotated[str | None, typer.Option("--gold", help="Script id for gold.")] = None,
    silver: Annotated[str | None, typer.Option("--silver", help="Script id for silver.")] = None,
    regular: Annotated[str | None, typer.Option("--regular", help="Script id for regular.")] = None,
    tiers: Annotated[
        str, typer.Option("--tiers", help="Only these tiers (comma list: gold,silver,regular).")
    ] = "",
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
    audience = Audience(
        tiers=_comma_list("--tiers", tiers, _TIERS),
        languages=_comma_list("--languages", languages, _LANGUAGES),
    )
    start = _parse_when("--window-start", window_start, settings.zone)
    end = _parse_when("--window-end", window_end, settings.zone)
    day = _occasion_day(occasion, on, settings)
    scripts = None
    if gold or silver or regular:
        scripts = {Tier.GOLD: gold, Tier.SILVER: silver, Tier.REGULAR: regular}

    async def _work(desk: CampaignDesk) -> None:
        for option, script_id in (("--gold", gold), ("--silver", silver), ("--regular", regular)):
            if script_id and script_id not in desk.library:
                fail(f"{option}: script {script_id!r} does not exist (`carebot scripts list`)")
        window = None
        if start or end:
            d_start, d_end = default_window(day, settings)
            window = (start or d_start, end or d_end)
        campaign = await desk.create(
            occasion,
            occasion_date=day,
            name=name,
            scripts=scripts,
            audience=audience,
            window=window,
            paid=paid or None,
            created_by=by,
        )
        for tier in Tier:
            wanted = audience.tiers
            if campaign.script_for(tier) is None and (not wanted or tier.value in wanted):
                typer.secho(
                    f"warning: {tier.value}: no script {greeting_script(occasion, tier.value)}"
                    f" (write and approve it, or name one with --{tier.value})",
                    err=True,
                    fg=typer.colors.YELLOW,
                )
        if on is None:
            typer.echo(f"{occasion}: {day.isoformat()} (next date in the care calendar)")
        typer.echo(
            f"created campaign {campaign.id} ({campaign.name}); next: "
            f"carebot campaign preview {campaign.id}"
        )

    with_desk(_work, existing=False)


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
