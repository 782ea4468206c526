"""The campaign sender: works through the delivery ledger, paced to Telegram's limits.

Framework-free: Telegram is reached through a `send` callable (`bot.broadcast` provides it)
that raises the `SendError` subclasses below. The ledger is the only state:

* rows are claimed in small batches (pending -> sending, committed) *before* any send;
* each outcome is written back (sent / failed / blocked / skipped, or pending again when
  deferred by quiet hours) in one transaction per batch;
* **crash rule** - a row still `sending` when a run starts was claimed by a process that died
  before recording the outcome: Telegram may or may not have delivered it. Greetings are
  at-most-once, so such rows become `failed` with error ``unknown: ...`` and are *not* resent;
  the run reports how many (`RunReport.recovered_sending`). A batch is at most 1/20 s of
  sending (and at most 64 rows), which bounds that number.

Pacing (`Pacer`): a token bucket at `rate` messages/s whose burst (a quarter second's worth,
to catch up after a database write) is capped by a sliding window, so no second ever holds
more than `rate` messages; at most one message per `per_chat_interval` seconds per chat;
`RetryAfter` pauses *all* sending for the time Telegram asks. Time comes from an injected
`Timer`, so tests travel in time instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from care.outreach.config import CareSettings
from care.outreach.quiet import quiet_until
from care.replies import Button
from care.salutation import salutation
from scripts import Rendered, Renderer, ScriptNotServable
from storage import (
    Campaign,
    CampaignRepo,
    CampaignStatus,
    ClaimedDelivery,
    Database,
    DeliveryRepo,
    DeliveryResult,
    DeliveryStatus,
    ProfileRepo,
    Tier,
)

__all__ = [
    "SENDING_LOST",
    "Blocked",
    "CampaignSender",
    "ChatNotFound",
    "OutgoingMessage",
    "Pacer",
    "ProgressFn",
    "RealTimer",
    "Rejected",
    "RetryAfter",
    "RunReport",
    "SendError",
    "SendFn",
    "Timer",
    "Transient",
    "optout_label_script",
]

log = logging.getLogger("carebot.sender")

#: The error stored on rows found in `sending` after a crash (see the module docstring).
SENDING_LOST = "unknown: interrupted while sending; not resent (greetings are at-most-once)"
_MAX_RETRY_AFTERS = 8
_BURST_SECONDS = 0.25
# Sends handed out this close to a window edge could land in one second after a few
# microseconds of scheduling jitter; keep the window a hair longer than a second.
_WINDOW_SLACK = 0.002


class SendError(Exception):
    """What a `send` callable raises when Telegram did not accept a message."""


class RetryAfter(SendError):
    """429: Telegram asks to wait `seconds` before sending anything."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Blocked(SendError):
    """403: the customer blocked the bot (or deactivated the account)."""


class ChatNotFound(SendError):
    """400 chat not found: the id is wrong or the customer never started the bot."""


class Rejected(SendError):
    """Another 400: the message itself was refused; retrying would not help."""


class Transient(SendError):
    """Network errors and 5xx: worth a bounded number of retries with backoff."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One greeting as the edge sends it."""

    chat_id: int
    text: str
    buttons: tuple[Button, ...] = ()
    paid: bool = False


#: Sends one message and returns Telegram's message id, or raises a `SendError`.
SendFn = Callable[[OutgoingMessage], Awaitable[int]]


class Timer(Protocol):
    """Wall clock, monotonic clock and sleep; tests substitute a time machine."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealTimer:
    """The real clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class Pacer:
    """Global rate + per-chat spacing + global pause; hands out send slots in FIFO order.

    The rate is a token bucket (GCRA form: slots `1/rate` apart, and after a stall - a
    database write, a slow response - up to a quarter second's worth may go at once to
    catch up) capped by a sliding window: a send never comes sooner than 1 s after the
    send `capacity` places before it, so no one-second window ever holds more than
    `capacity = floor(rate)` messages, however the sends bunch after a stall. Slots are
    handed out one at a time (a FIFO lock) and stamped with the time they were actually
    taken, so a late wake-up cannot push two slots into the same second either.
    """

    def __init__(self, rate: float, per_chat_interval: float, timer: Timer) -> None:
        self.interval = 1.0 / rate
        self.capacity = max(1, math.floor(rate + 1e-9))
        # A full bucket holds a quarter second of sends, never more than one second's.
        self.burst = max(1, min(self.capacity, math.floor(rate * _BURST_SECONDS)))
        self.per_chat_interval = per_chat_interval
        self.timer = timer
        self._next = timer.monotonic()  # the bucket's theoretical arrival time
        self._paused_until = 0.0
        self._last_by_chat: dict[int, float] = {}
        self._window: deque[float] = deque(maxlen=self.capacity)  # last `capacity` sends
        self._turn = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Stop every sender for `seconds` (Telegram's retry_after applies to the bot)."""
        until = self.timer.monotonic() + seconds
        self._paused_until = max(self._paused_until, until)
        self._next = max(self._next, self._paused_until)

    def earliest(self, chat_id: int) -> float:
        """The first instant a send to `chat_id` may go out (ignoring the pause)."""
        slot = self._next - (self.burst - 1) * self.interval
        if len(self._window) == self.capacity:
            slot = max(slot, self._window[0] + 1.0 + _WINDOW_SLACK)
        chat_ready = self._last_by_chat.get(chat_id, -math.inf) + self.per_chat_interval
        return max(slot, chat_ready, self._paused_until)

    async def wait_turn(self, chat_id: int) -> None:
        async with self._turn:
            while True:
                now = self.timer.monotonic()
                slot = self.earliest(chat_id)
                if slot > now:
                    await self.timer.sleep(slot - now)
                    continue  # re-check: a 429 may have arrived while we waited
                self._take(chat_id, now)
                return

    def _take(self, chat_id: int, now: float) -> None:
        self._next = max(self._next, now) + self.interval
        self._window.append(now)
        self._last_by_chat[chat_id] = now
        if len(self._last_by_chat) > 50_000:
            self._forget_old()

    def _forget_old(self) -> None:
        horizon = self.timer.monotonic() - self.per_chat_interval
        self._last_by_chat = {c: t for c, t in self._last_by_chat.items() if t > horizon}


@dataclass
class RunReport:
    """What one run did; `counts` are the whole ledger's per (tier, status) at the end."""

    campaign_id: int
    recovered_sending: int = 0
    sent_now: int = 0
    deferred_until: datetime | None = None
    status: CampaignStatus = CampaignStatus.RUNNING
    counts: dict[tuple[Tier, DeliveryStatus], int] = field(default_factory=dict)
    started: float = 0.0
    elapsed: float = 0.0
    #: True for the last progress call of a run (the counts are then the whole ledger's).
    final: bool = False

    def by_tier(self) -> dict[Tier, Counter[DeliveryStatus]]:
        table: dict[Tier, Counter[DeliveryStatus]] = {t: Counter() for t in Tier}
        for (tier, status), n in self.counts.items():
            table[tier][status] += n
        return table

    def total(self, status: DeliveryStatus) -> int:
        return sum(n for (_, s), n in self.counts.items() if s is status)


ProgressFn = Callable[[RunReport], Awaitable[None] | None]


class CampaignSender:
    """Sends one campaign from its ledger; safe to run again after any crash."""

    def __init__(
        self,
        *,
        database: Database,
        renderer: Renderer,
        care: CareSettings,
        send: SendFn,
        business_name: str,
        default_zone: ZoneInfo,
        timer: Timer | None = None,
        on_progress: ProgressFn | None = None,
    ) -> None:
        self.database = database
        self.renderer = renderer
        self.care = care
        self.send = send
        self.business_name = business_name
        self.default_zone = default_zone
        self.timer: Timer = timer or RealTimer()
        self.on_progress = on_progress
        self._render_cache: dict[tuple[str, str, str, str], Rendered] = {}
        self._label_cache: dict[tuple[str, str], tuple[Button, ...]] = {}

    async def run(self, campaign_id: int, *, stop: asyncio.Event | None = None) -> RunReport:
        """Send every due pending row; returns when done, paused, cancelled, stopped or when
        the rest is deferred (quiet hours) - `deferred_until` says until when."""
        report = RunReport(campaign_id, started=self.timer.monotonic())
        now = self.timer.now()
        async with self.database.transaction() as session:
            campaign = await CampaignRepo(session).get(campaign_id)
            if campaign is None:
                raise LookupError(f"no campaign {campaign_id}")
            if campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.RUNNING):
                report.status = campaign.status
                report.counts = await DeliveryRepo(session).counts(campaign_id)
                return report
            report.recovered_sending = await DeliveryRepo(session).recover_sending(
                campaign_id, SENDING_LOST, now
            )
            if report.recovered_sending:
                log.warning(
                    "campaign %s: %d row(s) were caught in 'sending' by a crash; marked "
                    "failed (unknown), not resent",
                    campaign_id,
                    report.recovered_sending,
                )
            if campaign.status is CampaignStatus.SCHEDULED:
                campaign.status = CampaignStatus.RUNNING
                campaign.started_at = campaign.started_at or now
                await CampaignRepo(session).save(campaign, now)
            report.counts = await DeliveryRepo(session).counts(campaign_id)
        rate = self.care.rate(campaign.paid_broadcast)
        pacer = Pacer(rate, self.care.per_chat_interval_seconds, self.timer)
        batch_size = max(1, min(64, math.ceil(rate * 0.05)))
        inflight = asyncio.Semaphore(max(1, min(self.care.max_in_flight, batch_size * 2)))
        while True:
            if stop is not None and stop.is_set():
                break
            now = self.timer.now()
            async with self.database.transaction() as session:
                campaign = await CampaignRepo(session).get(campaign_id)
                assert campaign is not None
                if campaign.status is not CampaignStatus.RUNNING:
                    report.status = campaign.status
                    break
                ledger = DeliveryRepo(session)
                if now >= campaign.window_end:
                    await ledger.skip_pending(campaign_id, "skipped: send window closed", now)
                    claimed: list[ClaimedDelivery] = []
                else:
                    claimed = await ledger.claim(campaign_id, now, batch_size)
                if not claimed:
                    report.deferred_until = await ledger.next_due(campaign_id)
                    if report.deferred_until is None:
                        campaign.status = CampaignStatus.DONE
                        campaign.finished_at = now
                        await CampaignRepo(session).save(campaign, now)
                    report.status = campaign.status
                    break
            results = await asyncio.gather(
                *(self._deliver(campaign, row, pacer, inflight) for row in claimed)
            )
            now = self.timer.now()
            async with self.database.transaction() as session:
                await DeliveryRepo(session).record(results, now)
                blocked = [
                    r.customer_id
                    for r, res in zip(claimed, results, strict=True)
                    if res.status is DeliveryStatus.BLOCKED
                ]
                if blocked:
                    await ProfileRepo(session).mark_blocked(blocked)
            report.sent_now += sum(1 for r in results if r.status is DeliveryStatus.SENT)
            for row, res in zip(claimed, results, strict=True):
                # Claimed rows were pending; count them where they landed (no GROUP BY over
                # the whole ledger per batch).
                report.counts[(row.tier, DeliveryStatus.PENDING)] -= 1
                key = (row.tier, res.status)
                report.counts[key] = report.counts.get(key, 0) + 1
            await self._progress(report)
        async with self.database.session() as session:
            report.counts = await DeliveryRepo(session).counts(campaign_id)
        report.elapsed = self.timer.monotonic() - report.started
        report.final = True
        await self._progress(report)
        return report

    async def _progress(self, report: RunReport) -> None:
        if self.on_progress is None:
            return
        outcome = self.on_progress(report)
        if outcome is not None:
            await outcome

    async def _deliver(
        self,
        campaign: Campaign,
        row: ClaimedDelivery,
        pacer: Pacer,
        inflight: asyncio.Semaphore,
    ) -> DeliveryResult:
        """One row's outcome; never raises for a recipient's problem."""
        now = self.timer.now()
        if row.blocked:
            return DeliveryResult(row.id, DeliveryStatus.SKIPPED, "skipped: customer blocked bot")
        if campaign.category in row.opt_outs or "all" in row.opt_outs:
            return DeliveryResult(row.id, DeliveryStatus.SKIPPED, "skipped: opted out")
        zone = _zone(row.timezone, self.default_zone)
        later = quiet_until(now, zone, self.care.quiet_start, self.care.quiet_end)
        if later is not None:
            return DeliveryResult(
                row.id,
                DeliveryStatus.PENDING,
                "deferred: quiet hours",
                not_before=later,
                attempts=row.attempts - 1,
            )
        script_id = campaign.script_for(row.tier)
        if script_id is None:
            return DeliveryResult(row.id, DeliveryStatus.SKIPPED, "skipped: no script for tier")
        try:
            rendered = self._render(script_id, row)
            buttons = self._buttons(campaign.category, rendered.language)
        except ScriptNotServable as exc:
            return DeliveryResult(row.id, DeliveryStatus.FAILED, f"script: {exc.why}")
        if rendered.blocked:
            # The renderer swapped in the safe fallback; that is no greeting: don't send it.
            return DeliveryResult(
                row.id, DeliveryStatus.FAILED, "guard: greeting blocked", script_id=script_id
            )
        message = OutgoingMessage(row.chat_id, rendered.text, buttons, campaign.paid_broadcast)
        attempts = row.attempts
        retry_afters = 0
        async with inflight:
            while True:
                await pacer.wait_turn(row.chat_id)
                try:
                    message_id = await self.send(message)
                except RetryAfter as exc:
                    retry_afters += 1
                    pacer.pause(exc.seconds)
                    if retry_afters > _MAX_RETRY_AFTERS:
                        return self._failed(
                            row, rendered, f"rate limited {retry_afters} times", attempts
                        )
                    continue
                except Blocked:
                    return DeliveryResult(
                        row.id,
                        DeliveryStatus.BLOCKED,
                        "blocked by the user",
                        script_id=rendered.script_id,
                        script_version=rendered.version,
                        attempts=attempts,
                    )
                except ChatNotFound:
                    return self._failed(row, rendered, "chat not found", attempts)
                except Rejected as exc:
                    return self._failed(row, rendered, f"rejected: {exc}", attempts)
                except Transient as exc:
                    if attempts >= self.care.max_attempts:
                        return self._failed(
                            row, rendered, f"gave up after {attempts} attempts: {exc}", attempts
                        )
                    await self.timer.sleep(self.care.retry_backoff_seconds * 2 ** (attempts - 1))
                    attempts += 1
                    continue
                return DeliveryResult(
                    row.id,
                    DeliveryStatus.SENT,
                    None,
                    message_id,
                    rendered.script_id,
                    rendered.version,
                    sent_at=self.timer.now(),
                    attempts=attempts,
                )

    @staticmethod
    def _failed(
        row: ClaimedDelivery, rendered: Rendered, error: str, attempts: int
    ) -> DeliveryResult:
        return DeliveryResult(
            row.id,
            DeliveryStatus.FAILED,
            error,
            script_id=rendered.script_id,
            script_version=rendered.version,
            attempts=attempts,
        )

    def _render(self, script_id: str, row: ClaimedDelivery) -> Rendered:
        """Render through the renderer (approved + guard), cached per distinct context: most
        greetings use only the salutation, and 100,000 customers share far fewer of those."""
        script = self.renderer.library.servable(script_id)
        form = salutation(
            row.language, surname=row.surname, title=row.title, first_name=row.first_name
        )
        first = row.first_name if "first_name" in script.variables else ""
        key = (script_id, row.language, form, first)
        cached = self._render_cache.get(key)
        if cached is not None and cached.version == script.version:
            return cached
        rendered = self.renderer.render(
            script_id,
            row.language,
            {"salutation": form, "first_name": row.first_name, "business_name": self.business_name},
        )
        if len(self._render_cache) > 20_000:
            self._render_cache.clear()
        self._render_cache[key] = rendered
        return rendered

    def _buttons(self, category: str, language: str) -> tuple[Button, ...]:
        """The opt-out button under every greeting (its label is an approved script too)."""
        key = (category, language)
        if key not in self._label_cache:
            label = self.renderer.render(optout_label_script(category), language, {})
            self._label_cache[key] = (Button(label.plain, f"optout:{category}"),)
        return self._label_cache[key]


def optout_label_script(category: str) -> str:
    """Script id of the opt-out button label for a greeting category."""
    return f"optout.button.{category}"


def _zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    if not name:
        return default
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return default
