"""`carebot campaign send ID`: send a campaign now through Telegram, with a progress bar.

Lives in `bot` because it talks to Telegram; it extends the care CLI's `campaign` app. It
is a broadcast worker, so it stays lean on purpose: the lean `BotApiTransport` instead of
aiogram, and `build_campaign_services` instead of the full services (no intent engine).
Together that keeps 100,000-recipient sends well under 200 MB RSS (see BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from care.cli.campaign import app as campaign_app
from care.cli.campaign import counts_table
from care.cli.common import fail, progress_bar, settings_or_exit
from care.runtime.settings import SettingsError

if TYPE_CHECKING:
    from care.outreach.sender import RunReport

__all__ = ["send"]

log = logging.getLogger("carebot.campaign")


@campaign_app.command("send")
def send(campaign_id: Annotated[int, typer.Argument()]) -> None:
    """Send now (scheduling a draft first); resumes from the ledger after a crash."""
    settings = settings_or_exit(existing_database=True)
    console = Console(stderr=True)
    # Imported here, not at the top: every other `carebot` command (a report, a ticket
    # list) would otherwise pay for the transport's HTTP client and the sender at start-up.
    from bot.transports.bot_api import BotApiTransport, TransportError
    from care.outreach.campaigns import CampaignError
    from care.outreach.tasks import post_care_tasks
    from care.outreach.wiring import build_campaign_services, campaign_desk, campaign_sender
    from storage import DeliveryStatus

    async def _run() -> RunReport:
        token = settings.require_token().get_secret_value()
        services = build_campaign_services(settings)
        transport = BotApiTransport(
            token, settings.telegram_api_url, limit=settings.care.max_in_flight
        )
        try:
            await services.database.upgrade()
            desk = campaign_desk(services)
            await desk.send_now(campaign_id)
            await post_care_tasks(services, campaign_id, transport.send)
            with progress_bar(console, "sending") as progress:
                task = progress.add_task("send", total=None)

                def show(report: RunReport) -> None:
                    total = sum(report.counts.values())
                    done = (
                        total
                        - report.total(DeliveryStatus.PENDING)
                        - report.total(DeliveryStatus.SENDING)
                    )
                    progress.update(task, total=total, completed=done)

                sender = campaign_sender(services, transport.send, on_progress=show)
                return await sender.run(campaign_id)
        finally:
            await transport.aclose()
            await services.aclose()

    try:
        report = asyncio.run(_run())
    except CampaignError as exc:
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        fail("refused", 1)
    except SettingsError as exc:
        fail(f"configuration error: {exc}")
    except TransportError as exc:
        fail(f"Telegram refused the bot: {exc}")
    if report.recovered_sending:
        typer.echo(
            f"{report.recovered_sending} row(s) were caught in 'sending' by an earlier "
            "crash: marked failed (unknown), not resent"
        )
    Console().print(counts_table(report.counts, f"campaign {campaign_id} ({report.status.value})"))
    if report.deferred_until:
        until = f"{report.deferred_until:%Y-%m-%d %H:%M} UTC"
        typer.echo(f"the rest is deferred by quiet hours until {until}; `carebot run` resumes it")
