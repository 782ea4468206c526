"""Reports in Telegram: ``/report`` for managers and the leader's weekly digest.

Framework-free: `ManagerReports` checks ADMIN_IDS, builds the report and returns a
`ReportCard` (the summary as a `Reply` from the approved ``report.summary`` script, buttons
for 7 / 30 / 90 days, one PNG chart); `bot/routers/reports.py` only shows it. Anyone else
gets the managers-only reply (``admin.denied``), also for a forged button.

The digest (``[reports] weekly_digest = "MON 09:00"``) covers the 7 days before the slot's
day. `WeeklyDigest.run_if_due` is called every minute by the leader; it claims the ISO
week in the database (`storage.DigestLedger`) before sending, so a restart, a new leader
or a second call never sends that week's digest again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from care.replies import Button, Reply
from care.reports.figures import ReportInput, build_report, intent_kinds
from care.reports.period import Period
from care.reports.texts import ReportTexts, fmt_int, fmt_number, fmt_share
from care.runtime.settings import Settings
from scripts import Renderer
from storage import Database, DigestLedger

__all__ = [
    "CALLBACK_PREFIX",
    "PERIOD_CHOICES",
    "ManagerReports",
    "ReportCard",
    "SendCard",
    "WeeklyDigest",
    "iso_week",
]

log = logging.getLogger("carebot.reports")

CALLBACK_PREFIX = "rpt:"
PERIOD_CHOICES = (7, 30, 90)

#: Sends a card to a chat (the bot's photo-with-caption call).
SendCard = Callable[[int, "ReportCard"], Awaitable[None]]


class ReportContext(Protocol):
    """What reports need from the process's services."""

    @property
    def settings(self) -> Settings: ...

    @property
    def database(self) -> Database: ...

    @property
    def renderer(self) -> Renderer: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...


@dataclass(frozen=True, slots=True)
class ReportCard:
    """What to show: the summary (caption) with its buttons, and the chart (PNG) if any."""

    reply: Reply
    chart: bytes | None = None


def _summary_context(report: Mapping[str, Any], texts: ReportTexts) -> dict[str, object]:
    cur, prev = report["current"], report["previous"]
    no_data = texts.or_no_data
    tickets, csat = cur["tickets"], cur["csat"]
    return {
        "period": texts.period(report),
        "customers": no_data(fmt_int(cur["volume"]["customers"])),
        "previous_customers": no_data(fmt_int(prev["volume"]["customers"])),
        "complaints": no_data(fmt_int(cur["complaints"]["complaints"])),
        "complaint_rate": no_data(fmt_share(cur["complaints"]["rate"])),
        "previous_complaint_rate": no_data(fmt_share(prev["complaints"]["rate"])),
        "opened": no_data(fmt_int(tickets["opened"])),
        "resolved": no_data(fmt_int(tickets["resolved"])),
        "breached": no_data(fmt_int(tickets["sla_breached"])),
        "frt_median": texts.minutes(tickets["first_response_minutes"]["median"]),
        "frt_met": no_data(fmt_share(tickets["first_response_minutes"]["met_sla_share"])),
        "csat_average": no_data(fmt_number(csat["average"])),
        "csat_response_rate": no_data(fmt_share(csat["response_rate"])),
        "repeat_rate": no_data(fmt_share(cur["loyalty"]["repeat_contact_rate"])),
        "sent": no_data(fmt_int(cur["campaigns"]["totals"]["sent"])),
        "recipients": no_data(fmt_int(cur["campaigns"]["totals"]["recipients"])),
        "calls_done": no_data(fmt_int(cur["campaigns"]["call_tasks"]["done"])),
    }


def _chart_png(report: Mapping[str, Any], texts: ReportTexts) -> bytes:
    """The complaint-rate trend of the period (matplotlib is imported here, on demand)."""
    from care.reports import charts
    from care.reports.page import build_charts

    drawn = build_charts(report, texts, only=("complaint_trend",))
    return charts.to_png(drawn["complaint_trend"])


class ManagerReports:
    """The report card for managers; cheap to build per update."""

    def __init__(self, services: ReportContext) -> None:
        self.services = services
        self.settings = services.settings
        self.language: str = self.settings.staff.language or self.settings.default_language
        self.texts = ReportTexts(services.renderer, self.language)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    def denied(self) -> ReportCard:
        return ReportCard(Reply(self.services.renderer.render("admin.denied", self.language, {})))

    async def card(self, user_id: int | None, days: int = PERIOD_CHOICES[0]) -> ReportCard:
        """`/report` (or a period button): the last ``days`` days, ending today."""
        if not self.is_admin(user_id):
            return self.denied()
        now = self.services.clock()
        today = now.astimezone(self.settings.zone).date()
        period = Period(today - timedelta(days=days - 1), today, self.settings.zone)
        return await self.build(period, now, buttons=True)

    async def press(self, user_id: int | None, data: str) -> ReportCard:
        """A period button (``rpt:30``)."""
        if not self.is_admin(user_id):
            return self.denied()
        raw = data.removeprefix(CALLBACK_PREFIX)
        days = int(raw) if raw.isdigit() and int(raw) in PERIOD_CHOICES else PERIOD_CHOICES[0]
        return await self.card(user_id, days)

    async def build(
        self, period: Period, now: datetime, *, buttons: bool, heading: str | None = None
    ) -> ReportCard:
        kinds = await asyncio.to_thread(intent_kinds, self.settings)
        inp = ReportInput(self.settings, period, now, intent_kinds=kinds)
        report = await build_report(self.services.database, inp)
        context = _summary_context(report, self.texts)
        rendered = self.services.renderer.render("report.summary", self.language, context)
        if heading is not None:
            # The digest's own heading above the same summary (both approved scripts).
            rendered = replace(
                rendered,
                text=f"{self.texts.html(heading)}\n{rendered.text}",
                plain=f"{self.texts.plain(heading)}\n{rendered.plain}",
            )
        choices: Sequence[Button] = ()
        if buttons:
            choices = tuple(
                Button(
                    self.texts.plain("report.button.days", {"days": days}),
                    f"{CALLBACK_PREFIX}{days}",
                )
                for days in PERIOD_CHOICES
            )
        chart = await asyncio.to_thread(_chart_png, report, self.texts)
        return ReportCard(Reply(rendered, tuple(choices)), chart)


def iso_week(moment: datetime) -> str:
    """``2026-W49`` for a local datetime."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


class WeeklyDigest:
    """The leader's weekly digest to the managers (or the configured chat)."""

    def __init__(self, services: ReportContext, send: SendCard) -> None:
        self.services = services
        self.send = send

    def due(self, now: datetime) -> str | None:
        """The ISO week whose digest is due at ``now`` (slot passed, same week), else None."""
        slot = self.services.settings.reports.digest_slot()
        if slot is None:
            return None
        weekday, at = slot
        local = now.astimezone(self.services.settings.zone)
        monday = local.date() - timedelta(days=local.weekday())
        when = datetime.combine(monday + timedelta(days=weekday), at, self.services.settings.zone)
        return iso_week(local) if local >= when else None

    def recipients(self) -> list[int]:
        reports = self.services.settings.reports
        if reports.digest_chat_id is not None:
            return [reports.digest_chat_id]
        return list(self.services.settings.admin_ids)

    async def run_if_due(self) -> bool:
        """Send this week's digest if its time has come and nobody sent it yet."""
        now = self.services.clock()
        week = self.due(now)
        recipients = self.recipients()
        if week is None or not recipients:
            return False
        async with self.services.database.transaction() as session:
            if not await DigestLedger(session).claim(week, now):
                return False
        zone = self.services.settings.zone
        yesterday = now.astimezone(zone).date() - timedelta(days=1)
        period = Period(yesterday - timedelta(days=6), yesterday, zone)
        card = await ManagerReports(self.services).build(
            period, now, buttons=False, heading="report.digest.heading"
        )
        for chat_id in recipients:
            try:
                await self.send(chat_id, card)
            except Exception:  # one unreachable manager must not keep the others from it
                log.exception("weekly digest %s to %s failed", week, chat_id)
        log.info("weekly digest %s sent to %d chat(s)", week, len(recipients))
        return True
