"""`carebot campaign send ID`: send a campaign now through Telegram, with a progress bar.

Lives in `bot` because it needs a Bot; it extends the care CLI's `campaign` app.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.app import build_bot
from bot.broadcast import telegram_send
from care.campaigns import CampaignError
from care.care_services import campaign_desk, campaign_sender
from care.care_tasks import mark_posted, pending_posts
from care.cli.campaign import app as campaign_app
from care.cli.campaign import counts_table
from care.cli.common import fail, settings_or_exit
from care.sender import RunReport
from care.services import Services, build_services
from care.settings import SettingsError
from storage import DeliveryStatus

__all__ = ["post_care_tasks", "send"]

log = logging.getLogger("carebot.campaign")


async def post_care_tasks(bot: Bot, services: Services, campaign_id: int) -> int:
    """Post the campaign's unposted gold call tasks to the staff group (if configured)."""
    chat = services.settings.staff_chat_id
    if chat is None:
        return 0
    posted = 0
    for post in await pending_posts(services, campaign_id):
        try:
            sent = await bot.send_message(chat, post.rendered.text, parse_mode="HTML")
        except (TelegramAPIError, TelegramNetworkError) as exc:
            log.warning("could not post care task %s to staff: %s", post.task_id, exc)
            break
        await mark_posted(services, post.task_id, sent.message_id)
        posted += 1
    return posted


@campaign_app.command("send")
def send(campaign_id: Annotated[int, typer.Argument()]) -> None:
    """Send now (scheduling a draft first); resumes from the ledger after a crash."""
    settings = settings_or_exit()
    console = Console(stderr=True)

    async def _run() -> RunReport:
        services = build_services(settings)
        bot = build_bot(settings)
        try:
            await services.database.upgrade()
            desk = campaign_desk(services)
            await desk.send_now(campaign_id)
            await post_care_tasks(bot, services, campaign_id)
            with Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console, transient=True) as progress:
                task = progress.add_task("send", total=None)

                def show(report: RunReport) -> None:
                    total = sum(report.counts.values())
                    done = total - report.total(DeliveryStatus.PENDING) - report.total(
                        DeliveryStatus.SENDING)
                    progress.update(task, total=total, completed=done)

                sender = campaign_sender(services, telegram_send(bot), on_progress=show)
                return await sender.run(campaign_id)
        finally:
            await services.aclose()
            await bot.session.close()

    try:
        report = asyncio.run(_run())
    except CampaignError as exc:
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        fail("refused", 1)
    except SettingsError as exc:
        fail(f"configuration error: {exc}")
    if report.recovered_sending:
        typer.echo(f"{report.recovered_sending} row(s) were caught in 'sending' by an earlier "
                   "crash: marked failed (unknown), not resent")
    Console().print(counts_table(report.counts, f"campaign {campaign_id} ({report.status.value})"))
    if report.deferred_until:
        until = f"{report.deferred_until:%Y-%m-%d %H:%M} UTC"
        typer.echo(f"the rest is deferred by quiet hours until {until}; `carebot run` resumes it")
