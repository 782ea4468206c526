"""Care campaigns: create, check, preview, schedule, pause/resume/cancel, report.

A campaign = an occasion + one approved greeting script per tier + an audience filter + a
send window. Scheduling validates the scripts (servable, channel `greeting`, lint-clean,
opt-out button label approved) and writes the whole ledger in one transaction: pending
rows for recipients, skipped rows (with the reason) for blocked or opted-out customers.
Gold recipients also get a personal-call task for staff.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from care.outreach.calendar import OCCASION_NAMES, greeting_script
from care.outreach.sender import optout_label_script
from care.runtime.settings import Settings
from care.salutation import salutation
from scripts import (
    GREETING_MAX_CHARS,
    Guard,
    Rendered,
    Renderer,
    ScriptLibrary,
    ScriptNotServable,
    lint_script,
)
from storage import (
    Campaign,
    CampaignRepo,
    CampaignStatus,
    CareTaskRepo,
    Database,
    DeliveryRepo,
    DeliveryStatus,
    ProfileRepo,
    Tier,
)

__all__ = [
    "Audience",
    "CampaignDesk",
    "CampaignError",
    "Preview",
    "audience_problems",
    "default_window",
]

_LANGUAGES = ("zh-Hans", "zh-Hant", "en")

#: Ledger rows built and written per slice when scheduling.
_LEDGER_SLICE = 5000

#: Sample customer per language for previews (the renderer escapes them like real names).
_SAMPLE = {
    "zh-Hans": {"surname": "梁", "title": "小姐", "first_name": "小梅"},
    "zh-Hant": {"surname": "梁", "title": "小姐", "first_name": "小梅"},
    "en": {"surname": "Liang", "title": "Ms.", "first_name": "Mei"},
}


class CampaignError(Exception):
    """A campaign operation was refused; `problems` says why (one line each)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class Audience:
    """Who a campaign is for: all filters must match (empty = no restriction)."""

    tiers: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    telegram_ids: tuple[int, ...] = ()
    birthday: str | None = None  # ISO date: customers born on this month/day

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Audience:
        raw: dict[str, Any] = json.loads(text or "{}")
        return cls(
            tiers=tuple(raw.get("tiers") or ()),
            languages=tuple(raw.get("languages") or ()),
            telegram_ids=tuple(int(x) for x in raw.get("telegram_ids") or ()),
            birthday=raw.get("birthday"),
        )


@dataclass
class Preview:
    """Recipient counts per tier and one rendered sample per tier."""

    campaign: Campaign
    recipients: Counter[Tier] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    samples: dict[Tier, Rendered | str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


_TIER_NAMES = tuple(tier.value for tier in Tier)


def audience_problems(audience: Audience) -> list[str]:
    """Tiers the audience names that do not exist (one line each; empty: fine)."""
    return [
        f"audience: unknown tier {tier!r} (known: {', '.join(_TIER_NAMES)})"
        for tier in audience.tiers
        if tier not in _TIER_NAMES
    ]


def default_window(day: date, settings: Settings) -> tuple[datetime, datetime]:
    """From 09:00 on the day (business time zone) to its end: late is fine, tomorrow is not."""
    zone = settings.zone
    start = datetime.combine(day, time(9, 0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone)
    return start, end


class CampaignDesk:
    """Campaign use cases over the database and the script library."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        library: ScriptLibrary,
        guard: Guard,
        renderer: Renderer,
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.database = database
        self.library = library
        self.guard = guard
        self.renderer = renderer
        self.clock = clock

    async def create(
        self,
        occasion: str,
        *,
        occasion_date: date | None = None,
        name: str | None = None,
        scripts: dict[Tier, str | None] | None = None,
        audience: Audience | None = None,
        window: tuple[datetime, datetime] | None = None,
        created_by: str = "",
        paid: bool | None = None,
        category: str | None = None,
        key: str | None = None,
    ) -> Campaign:
        """A draft campaign; scripts default to ``greeting.<occasion>.<tier>`` when present."""
        problems = audience_problems(audience or Audience())
        if problems:
            raise CampaignError(problems)
        now = self.clock()
        day = occasion_date or now.astimezone(self.settings.zone).date()
        start, end = window or default_window(day, self.settings)
        if end <= start:
            raise CampaignError(["the send window ends before it starts"])
        chosen = scripts or {
            tier: sid if (sid := greeting_script(occasion, tier.value)) in self.library else None
            for tier in Tier
        }
        custom = {item.key: item.name for item in self.settings.care.custom_dates}
        zh, _ = OCCASION_NAMES.get(occasion, (custom.get(occasion, occasion), occasion))
        campaign = Campaign(
            key=key,
            name=name or f"{zh} {day.isoformat()}",
            occasion=occasion,
            occasion_date=day,
            category=category or ("birthday" if occasion == "birthday" else "holiday"),
            script_gold=chosen.get(Tier.GOLD),
            script_silver=chosen.get(Tier.SILVER),
            script_regular=chosen.get(Tier.REGULAR),
            audience=(audience or Audience()).to_json(),
            window_start=start,
            window_end=end,
            paid_broadcast=self.settings.care.paid_broadcast if paid is None else paid,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        async with self.database.transaction() as session:
            await CampaignRepo(session).add(campaign)
        return campaign

    async def get(self, campaign_id: int) -> Campaign:
        async with self.database.session() as session:
            campaign = await CampaignRepo(session).get(campaign_id)
        if campaign is None:
            raise CampaignError([f"no campaign {campaign_id}"])
        return campaign

    async def list_campaigns(self, limit: int = 20) -> list[Campaign]:
        async with self.database.session() as session:
            return await CampaignRepo(session).list(limit=limit)

    def script_problems(self, campaign: Campaign, tiers: Sequence[Tier] = tuple(Tier)) -> list[str]:
        """Why the campaign's scripts cannot be sent (empty list: they can)."""
        problems: list[str] = []
        for tier in tiers:
            script_id = campaign.script_for(tier)
            if not script_id:
                expected = greeting_script(campaign.occasion, tier.value)
                problems.append(
                    f"{tier.value}: no greeting script for this tier "
                    f"(script {expected} does not exist)"
                )
                continue
            problems.extend(self._one_script_problems(tier.value, script_id, greeting=True))
        label = optout_label_script(campaign.category)
        problems.extend(self._one_script_problems("opt-out button", label, greeting=False))
        return problems

    def _one_script_problems(self, what: str, script_id: str, *, greeting: bool) -> list[str]:
        script = self.library.get(script_id)
        if script is None:
            return [f"{what}: script {script_id} does not exist"]
        problems: list[str] = []
        if greeting and script.channel != "greeting":
            problems.append(
                f"{what}: script {script_id} is not a greeting (channel {script.channel})"
            )
        reason = script.unservable_reason()
        if reason:
            problems.append(f"{what}: script {script_id} cannot be sent: {reason}")
        for lint in lint_script(
            script,
            self.guard,
            self.settings.languages,
            default_language=self.library.default_language,
        ):
            problems.append(f"{what}: lint: {lint.message}")
        return problems

    async def length_problems(self, campaign: Campaign, tiers: Sequence[Tier]) -> list[str]:
        """Greetings over 70 characters for the longest names of each tier in the customer table.

        Lint measures with sample names; a shop's own customers may have longer ones (a
        compound surname, a double-barrelled English name), so scheduling measures again
        with the longest names per language, rendered as the sender would render them.
        """
        languages = Audience.from_json(campaign.audience).languages or _LANGUAGES
        problems: list[str] = []
        for tier in tiers:
            script_id = campaign.script_for(tier)
            if not script_id:
                continue
            async with self.database.session() as session:
                repo = ProfileRepo(session)
                names = {lang: await repo.longest_names(lang, tier) for lang in languages}
            for language, rows in names.items():
                worst: tuple[int, str] = (0, "")
                for surname, title, first_name in rows:
                    form = salutation(language, surname=surname, title=title, first_name=first_name)
                    context = {
                        "salutation": form,
                        "first_name": first_name or "",
                        "business_name": self.settings.business_name,
                    }
                    try:
                        plain = self.renderer.render(script_id, language, context).plain
                    except ScriptNotServable:
                        break  # reported by script_problems
                    worst = max(worst, (len(plain), form))
                if worst[0] > GREETING_MAX_CHARS:
                    problems.append(
                        f"{tier.value}: {script_id} is {worst[0]} characters in {language} "
                        f"for {worst[1]} (at most {GREETING_MAX_CHARS}): shorten it"
                    )
        return problems

    async def _audience(self, campaign: Campaign) -> list[Any]:
        audience = Audience.from_json(campaign.audience)
        known = [Tier(t) for t in audience.tiers if t in _TIER_NAMES]
        if audience.tiers and not known:
            return []  # only unknown tiers (a row saved before they were checked): nobody
        async with self.database.session() as session:
            return await ProfileRepo(session).audience(
                tiers=known or None,
                languages=list(audience.languages) or None,
                telegram_ids=list(audience.telegram_ids) or None,
                birthday=date.fromisoformat(audience.birthday) if audience.birthday else None,
            )

    def _skip_reason(self, campaign: Campaign, member: Any) -> str | None:
        if member.blocked:
            return "skipped: customer blocked bot"
        if campaign.category in member.opt_outs or "all" in member.opt_outs:
            return "skipped: opted out"
        return None

    async def preview(self, campaign_id: int) -> Preview:
        campaign = await self.get(campaign_id)
        preview = Preview(campaign)
        for member in await self._audience(campaign):
            reason = self._skip_reason(campaign, member)
            if reason:
                preview.skipped[reason] += 1
            else:
                preview.recipients[member.tier] += 1
        preview.problems = [
            *audience_problems(Audience.from_json(campaign.audience)),
            *self.script_problems(campaign, self._tiers_needed(preview)),
        ]
        language = self.settings.default_language
        sample = _SAMPLE.get(language, _SAMPLE["zh-Hans"])
        context = {
            "salutation": salutation(language, surname=sample["surname"], title=sample["title"]),
            "first_name": sample["first_name"],
            "business_name": self.settings.business_name,
        }
        for tier in Tier:
            script_id = campaign.script_for(tier)
            if not script_id:
                preview.samples[tier] = "(no script)"
                continue
            try:
                preview.samples[tier] = self.renderer.render(script_id, language, context)
            except ScriptNotServable as exc:
                preview.samples[tier] = f"(cannot render: {exc.why})"
        return preview

    @staticmethod
    def _tiers_needed(preview: Preview) -> list[Tier]:
        needed = [t for t in Tier if preview.recipients[t]]
        return needed or list(Tier)

    async def schedule(self, campaign_id: int) -> Preview:
        """Validate and write the ledger; the campaign becomes `scheduled`.

        Refused (CampaignError) when a tier with recipients has no script, or a script is
        not approved, not a greeting or fails lint. A tier with no recipients needs none.
        """
        preview = await self.preview(campaign_id)
        campaign = preview.campaign
        if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.PAUSED):
            raise CampaignError([f"campaign {campaign_id} is {campaign.status.value}"])
        if preview.problems:
            raise CampaignError(preview.problems)
        too_long = await self.length_problems(campaign, self._tiers_needed(preview))
        if too_long:
            raise CampaignError(too_long)
        members = await self._audience(campaign)
        now = self.clock()
        gold: list[int] = []
        async with self.database.transaction() as session:
            ledger = DeliveryRepo(session)
            # Row dicts are built and written a slice at a time: 100,000 of them at once
            # would cost ~50 MB on top of the audience (one transaction all the same).
            for start in range(0, len(members), _LEDGER_SLICE):
                rows: list[dict[str, Any]] = []
                for member in members[start : start + _LEDGER_SLICE]:
                    reason = self._skip_reason(campaign, member)
                    rows.append(
                        {
                            "campaign_id": campaign.id,
                            "customer_id": member.customer_id,
                            "chat_id": member.telegram_id,
                            "tier": member.tier,
                            "status": DeliveryStatus.SKIPPED if reason else DeliveryStatus.PENDING,
                            "error": reason,
                        }
                    )
                    if reason is None and member.tier is Tier.GOLD:
                        gold.append(member.customer_id)
                await ledger.materialize(rows)
            del members
            if gold and self.settings.care.gold_personal_call:
                await CareTaskRepo(session).ensure(
                    [
                        {
                            "campaign_id": campaign.id,
                            "customer_id": cid,
                            "occasion": campaign.occasion,
                            "due_date": campaign.occasion_date,
                        }
                        for cid in gold
                    ]
                )
            fresh = await CampaignRepo(session).get(campaign_id)
            assert fresh is not None
            fresh.status = CampaignStatus.SCHEDULED
            fresh.scheduled_at = now
            await CampaignRepo(session).save(fresh, now)
            preview.campaign = fresh
        return preview

    async def set_status(self, campaign_id: int, status: CampaignStatus) -> Campaign:
        """pause / resume / cancel with the allowed transitions; cancel skips pending rows."""
        allowed = {
            CampaignStatus.PAUSED: (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING),
            CampaignStatus.RUNNING: (CampaignStatus.PAUSED,),
            CampaignStatus.CANCELLED: (
                CampaignStatus.DRAFT,
                CampaignStatus.SCHEDULED,
                CampaignStatus.RUNNING,
                CampaignStatus.PAUSED,
            ),
        }[status]
        now = self.clock()
        async with self.database.transaction() as session:
            campaign = await CampaignRepo(session).get(campaign_id)
            if campaign is None:
                raise CampaignError([f"no campaign {campaign_id}"])
            if campaign.status not in allowed:
                raise CampaignError(
                    [
                        f"campaign {campaign_id} is {campaign.status.value}; cannot make it "
                        f"{status.value}"
                    ]
                )
            # Resuming a campaign that never started goes back to `scheduled`.
            if status is CampaignStatus.RUNNING and campaign.started_at is None:
                status = CampaignStatus.SCHEDULED
            campaign.status = status
            if status is CampaignStatus.CANCELLED:
                await DeliveryRepo(session).skip_pending(campaign_id, "skipped: cancelled", now)
                campaign.finished_at = now
            await CampaignRepo(session).save(campaign, now)
        return campaign

    async def send_now(self, campaign_id: int) -> Campaign:
        """Schedule (if still a draft) and open the window now, for `campaign send`."""
        campaign = await self.get(campaign_id)
        if campaign.status is CampaignStatus.DRAFT:
            campaign = (await self.schedule(campaign_id)).campaign
        now = self.clock()
        if campaign.window_start > now:
            async with self.database.transaction() as session:
                fresh = await CampaignRepo(session).get(campaign_id)
                assert fresh is not None
                fresh.window_start = now
                if fresh.window_end <= now:
                    fresh.window_end = now + timedelta(hours=12)
                await CampaignRepo(session).save(fresh, now)
                campaign = fresh
        return campaign

    async def counts(self, campaign_id: int) -> dict[tuple[Tier, DeliveryStatus], int]:
        async with self.database.session() as session:
            return await DeliveryRepo(session).counts(campaign_id)

    async def ensure_birthday_campaign(self, day: date) -> Campaign | None:
        """Today's birthday campaign (made once per day, found again on reruns), scheduled.

        Returns None when no customer has a birthday on `day`.
        """
        key = f"birthday:{day.isoformat()}"
        async with self.database.session() as session:
            existing = await CampaignRepo(session).get_by_key(key)
        if existing is not None:
            return existing
        campaign = await self.create(
            "birthday",
            occasion_date=day,
            audience=Audience(birthday=day.isoformat()),
            created_by="scheduler",
            key=key,
        )
        assert campaign.id is not None
        preview = await self.preview(campaign.id)
        if not sum(preview.recipients.values()):
            await self.set_status(campaign.id, CampaignStatus.CANCELLED)
            return None
        return (await self.schedule(campaign.id)).campaign
