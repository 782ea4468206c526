"""Managers' campaign console for Telegram: screens, button actions and the progress card.

Framework-free: every screen is a `Reply` (approved `admin.*` scripts + buttons whose
callback data start with ``adm:``); `bot/routers/admin.py` only parses the update, calls
`CampaignAdmin.home` / `CampaignAdmin.press` and shows what comes back. Every entry point
checks ADMIN_IDS itself, so a forged callback from a customer gets `admin.denied` too.

Button data (at most 64 bytes, Telegram's limit):

    adm:home            the campaign list          adm:new           coming occasions
    adm:mk:KEY:DATE     create a draft             adm:c:ID          a campaign's card
    adm:pv:ID preview   adm:sc:ID schedule         adm:go:ID         send now (progress card)
    adm:pa:ID pause     adm:re:ID resume           adm:x:ID          cancel
    adm:rp:ID report    adm:pg:ID progress (refresh)

"Send now" does not send from the handler: it opens the window now and records the
message as the campaign's progress card (`progress_chat_id/progress_message_id`); the
leader's scheduler picks the campaign up (at once when it runs in this process, else at
its next sync) and `ProgressCard` edits that message as deliveries are recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime

from care.outreach.calendar import OCCASION_NAMES, upcoming
from care.outreach.campaigns import CampaignDesk, CampaignError
from care.outreach.sender import ProgressFn, RunReport
from care.outreach.wiring import CareContext, campaign_desk
from care.replies import Button, Reply
from storage import Campaign, CampaignRepo, CampaignStatus, DeliveryStatus, Tier

__all__ = [
    "CALLBACK_PREFIX",
    "CampaignAdmin",
    "EditFn",
    "ProgressCard",
    "progress_card_factory",
]

log = logging.getLogger("carebot.admin")

CALLBACK_PREFIX = "adm:"
#: How many coming occasions the "new campaign" screen offers.
_OCCASION_CHOICES = 8
_OCCASION_DAYS = 120

#: Edits the progress card: (chat_id, message_id, what to show).
EditFn = Callable[[int, int, Reply], Awaitable[None]]


class CampaignAdmin:
    """The campaign screens for one admin language; cheap to build per update."""

    def __init__(self, services: CareContext, desk: CampaignDesk | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.desk = desk or campaign_desk(services)
        self.language: str = self.settings.staff.language or self.settings.default_language

    # -- entry points ------------------------------------------------------------------

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    async def home(self, user_id: int | None) -> Reply:
        """`/campaigns`: the recent campaigns as buttons, plus "new from the calendar"."""
        if not self.is_admin(user_id):
            return self._reply("admin.denied")
        return await self._list()

    async def press(
        self, user_id: int | None, data: str, *, chat_id: int, message_id: int
    ) -> Reply:
        """A button of the console was pressed; returns the screen to show in its place."""
        if not self.is_admin(user_id):
            return self._reply("admin.denied")
        action, _, arg = data.removeprefix(CALLBACK_PREFIX).partition(":")
        try:
            return await self._dispatch(action, arg, user_id, chat_id, message_id)
        except CampaignError as exc:
            campaign_id = _int(arg)
            buttons = self._card_buttons(await self.desk.get(campaign_id)) if campaign_id else ()
            return self._reply(
                "admin.campaign.refused",
                {"reason": "; ".join(exc.problems)},
                buttons or (self._button("admin.button.back", "home"),),
            )

    async def _dispatch(
        self, action: str, arg: str, user_id: int | None, chat_id: int, message_id: int
    ) -> Reply:
        if action == "home":
            return await self._list()
        if action == "new":
            return self._occasions()
        if action == "mk":
            key, _, day = arg.partition(":")
            campaign = await self.desk.create(
                key, occasion_date=date.fromisoformat(day), created_by=f"telegram:{user_id}"
            )
            return self.card(campaign)
        campaign_id = _int(arg)
        if campaign_id is None:
            return await self._list()
        if action == "c":
            return self.card(await self.desk.get(campaign_id))
        if action == "pv":
            return await self.preview(campaign_id)
        if action == "sc":
            return self.card((await self.desk.schedule(campaign_id)).campaign)
        if action == "go":
            await self.desk.send_now(campaign_id)
            campaign = await self._attach_card(campaign_id, chat_id, message_id)
            return await self.progress(campaign)
        if action in ("pa", "re", "x"):
            status = {
                "pa": CampaignStatus.PAUSED,
                "re": CampaignStatus.RUNNING,
                "x": CampaignStatus.CANCELLED,
            }[action]
            return self.card(await self.desk.set_status(campaign_id, status))
        if action == "rp":
            return await self.report(campaign_id)
        if action == "pg":
            return await self.progress(await self.desk.get(campaign_id))
        return await self._list()

    # -- screens -----------------------------------------------------------------------

    async def _list(self) -> Reply:
        campaigns = await self.desk.list_campaigns(limit=10)
        buttons = [
            self._button(
                "admin.button.campaign",
                f"c:{c.id}",
                {"campaign_id": c.id, "campaign_name": c.name, "status": c.status.value},
            )
            for c in campaigns
        ]
        buttons.append(self._button("admin.button.new", "new"))
        return self._reply("admin.campaigns.list", {"count": len(campaigns)}, buttons)

    def _occasions(self) -> Reply:
        today = self.services.clock().astimezone(self.settings.zone).date()
        coming = upcoming(today, _OCCASION_DAYS, self.settings.care.custom_dates)
        buttons = [
            self._button(
                "admin.button.occasion",
                f"mk:{o.key}:{o.date.isoformat()}",
                {
                    "occasion_name": o.name if self.language.startswith("zh") else o.name_en,
                    "occasion_date": o.date.isoformat(),
                },
            )
            for o in coming[:_OCCASION_CHOICES]
        ]
        buttons.append(self._button("admin.button.back", "home"))
        return self._reply("admin.occasions.pick", {}, buttons)

    def card(self, campaign: Campaign) -> Reply:
        """One campaign: what, when, status; the buttons its status allows."""
        return self._reply(
            "admin.campaign.card",
            {
                "campaign_id": campaign.id,
                "campaign_name": campaign.name,
                "occasion_name": self._occasion_name(campaign.occasion),
                "occasion_date": campaign.occasion_date.isoformat()
                if campaign.occasion_date
                else "-",
                "window": self._window(campaign.window_start, campaign.window_end),
                "status": campaign.status.value,
            },
            self._card_buttons(campaign),
        )

    async def preview(self, campaign_id: int) -> Reply:
        """Recipients per tier and one rendered sample per tier."""
        preview = await self.desk.preview(campaign_id)
        context: dict[str, object] = {
            "campaign_name": preview.campaign.name,
            "skipped_count": sum(preview.skipped.values()),
        }
        for tier in Tier:
            context[f"{tier.value}_count"] = preview.recipients[tier]
            sample = preview.samples.get(tier, "-")
            context[f"{tier.value}_sample"] = sample if isinstance(sample, str) else sample.plain
        return self._reply("admin.campaign.preview", context, self._card_buttons(preview.campaign))

    async def progress(self, campaign: Campaign) -> Reply:
        assert campaign.id is not None
        return self.progress_view(campaign, await self.desk.counts(campaign.id))

    def progress_view(
        self, campaign: Campaign, counts: dict[tuple[Tier, DeliveryStatus], int]
    ) -> Reply:
        """The progress card's text: totals over the ledger and how much is done."""
        totals = {s: sum(n for (_, st), n in counts.items() if st is s) for s in DeliveryStatus}
        total = sum(totals.values())
        waiting = totals[DeliveryStatus.PENDING] + totals[DeliveryStatus.SENDING]
        percent = 100 if total == 0 else (total - waiting) * 100 // total
        return self._reply(
            "admin.campaign.progress",
            {
                "campaign_name": campaign.name,
                "status": campaign.status.value,
                "sent": totals[DeliveryStatus.SENT],
                "failed": totals[DeliveryStatus.FAILED],
                "blocked": totals[DeliveryStatus.BLOCKED],
                "skipped": totals[DeliveryStatus.SKIPPED],
                "pending": waiting,
                "total": total,
                "percent": percent,
            },
            self._progress_buttons(campaign),
        )

    async def report(self, campaign_id: int) -> Reply:
        """Outcomes per tier from the ledger."""
        campaign = await self.desk.get(campaign_id)
        counts = await self.desk.counts(campaign_id)
        order = (
            DeliveryStatus.SENT,
            DeliveryStatus.FAILED,
            DeliveryStatus.BLOCKED,
            DeliveryStatus.SKIPPED,
        )
        lines = []
        for tier in Tier:
            numbers = [counts.get((tier, s), 0) for s in order]
            numbers.append(
                counts.get((tier, DeliveryStatus.PENDING), 0)
                + counts.get((tier, DeliveryStatus.SENDING), 0)
            )
            lines.append(f"{tier.value:<8}" + " / ".join(str(n) for n in numbers))
        return self._reply(
            "admin.campaign.report",
            {
                "campaign_name": campaign.name,
                "status": campaign.status.value,
                "table": "\n".join(lines),
            },
            self._card_buttons(campaign),
        )

    # -- helpers -----------------------------------------------------------------------

    async def _attach_card(self, campaign_id: int, chat_id: int, message_id: int) -> Campaign:
        """Make this message the campaign's progress card (edited as the campaign runs)."""
        async with self.services.database.transaction() as session:
            repo = CampaignRepo(session)
            campaign = await repo.get(campaign_id)
            if campaign is None:
                raise CampaignError([f"no campaign {campaign_id}"])
            campaign.progress_chat_id = chat_id
            campaign.progress_message_id = message_id
            await repo.save(campaign, self.services.clock())
        return campaign

    def _card_buttons(self, campaign: Campaign) -> tuple[Button, ...]:
        cid = campaign.id
        actions = {
            CampaignStatus.DRAFT: ("preview", "schedule", "send_now", "cancel"),
            CampaignStatus.SCHEDULED: ("preview", "send_now", "pause", "cancel", "report"),
            CampaignStatus.RUNNING: ("refresh", "pause", "cancel", "report"),
            CampaignStatus.PAUSED: ("resume", "cancel", "report"),
            CampaignStatus.DONE: ("report",),
            CampaignStatus.CANCELLED: ("report",),
        }[campaign.status]
        codes = {
            "preview": "pv",
            "schedule": "sc",
            "send_now": "go",
            "pause": "pa",
            "resume": "re",
            "cancel": "x",
            "report": "rp",
            "refresh": "pg",
        }
        buttons = [self._button(f"admin.button.{a}", f"{codes[a]}:{cid}") for a in actions]
        buttons.append(self._button("admin.button.back", "home"))
        return tuple(buttons)

    def _progress_buttons(self, campaign: Campaign) -> tuple[Button, ...]:
        cid = campaign.id
        buttons = [self._button("admin.button.refresh", f"pg:{cid}")]
        if campaign.status in (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING):
            buttons.append(self._button("admin.button.pause", f"pa:{cid}"))
        elif campaign.status is CampaignStatus.PAUSED:
            buttons.append(self._button("admin.button.resume", f"re:{cid}"))
        buttons.append(self._button("admin.button.report", f"rp:{cid}"))
        return tuple(buttons)

    def _reply(
        self,
        script_id: str,
        context: dict[str, object] | None = None,
        buttons: tuple[Button, ...] | list[Button] = (),
    ) -> Reply:
        rendered = self.services.renderer.render(script_id, self.language, context or {})
        return Reply(rendered, tuple(buttons))

    def _button(
        self, script_id: str, action: str, context: dict[str, object] | None = None
    ) -> Button:
        label = self.services.renderer.render(script_id, self.language, context or {})
        return Button(label.plain, CALLBACK_PREFIX + action)

    def _occasion_name(self, key: str) -> str:
        for custom in self.settings.care.custom_dates:
            if custom.key == key:
                return (
                    custom.name
                    if self.language.startswith("zh")
                    else (custom.name_en or custom.name)
                )
        zh, en = OCCASION_NAMES.get(key, (key, key))
        return zh if self.language.startswith("zh") else en

    def _window(self, start: datetime, end: datetime) -> str:
        zone = self.settings.zone
        return (
            f"{start.astimezone(zone):%Y-%m-%d %H:%M} - {end.astimezone(zone):%Y-%m-%d %H:%M}"
            f" ({self.settings.timezone})"
        )


class ProgressCard:
    """A `ProgressFn` that edits the campaign's card every `every_n` recorded deliveries or
    `every_seconds`, whichever comes first, and always at the end of a run (Telegram limits
    edits too: a card edited per batch at 1,000/s would be rate limited itself)."""

    def __init__(
        self,
        admin: CampaignAdmin,
        campaign: Campaign,
        edit: EditFn,
        *,
        every_n: int = 500,
        every_seconds: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        assert campaign.progress_chat_id is not None and campaign.progress_message_id is not None
        self.admin = admin
        self.campaign = campaign
        self.edit = edit
        self.every_n = every_n
        self.every_seconds = every_seconds
        self.monotonic = monotonic
        self.edits = 0
        self._last_done = 0
        self._last_at = monotonic()

    async def __call__(self, report: RunReport) -> None:
        waiting = report.total(DeliveryStatus.PENDING) + report.total(DeliveryStatus.SENDING)
        done = sum(report.counts.values()) - waiting
        now = self.monotonic()
        due = done - self._last_done >= self.every_n or now - self._last_at >= self.every_seconds
        if not (report.final or due):
            return
        self._last_done, self._last_at = done, now
        self.campaign.status = report.status
        view = self.admin.progress_view(self.campaign, report.counts)
        assert self.campaign.progress_chat_id is not None
        assert self.campaign.progress_message_id is not None
        await self.edit(self.campaign.progress_chat_id, self.campaign.progress_message_id, view)
        self.edits += 1


def progress_card_factory(
    services: CareContext,
    edit: EditFn,
    *,
    every_n: int = 500,
    every_seconds: float = 3.0,
    monotonic: Callable[[], float] = time.monotonic,
) -> Callable[[int], Awaitable[ProgressFn | None]]:
    """For `CareScheduler(progress=...)`: a card for campaigns started from Telegram."""

    async def for_campaign(campaign_id: int) -> ProgressFn | None:
        admin = CampaignAdmin(services)
        try:
            campaign = await admin.desk.get(campaign_id)
        except CampaignError:
            return None
        if campaign.progress_chat_id is None or campaign.progress_message_id is None:
            return None
        return ProgressCard(
            admin, campaign, edit, every_n=every_n, every_seconds=every_seconds, monotonic=monotonic
        )

    return for_campaign


def _int(text: str) -> int | None:
    head = text.partition(":")[0]
    return int(head) if head.isdigit() else None
