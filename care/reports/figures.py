"""The report's figures: one period's numbers as a plain, JSON-ready dict with stable keys.

Counting happens in SQL (`storage.ReportQueries`); what is left here is the arithmetic SQL
can't do portably: business-hours durations (`BusinessClock`), medians and percentiles,
rates that must say "no data" (``None``) instead of dividing by zero. The keys are
documented in README.md ("Reports"); add keys, never rename them.

Extra sections (e.g. script usage counts) plug in as `Section` callables: each gets the
session and the period and returns its own JSON-ready dict under its own key.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from care.desk.business_hours import BusinessCalendar
from care.desk.macro_usage import usage_summary
from care.reports.clock import BusinessClock
from care.reports.period import Period
from care.runtime.settings import Settings
from storage import TICKET_COLUMNS, Database, MacroRepo, ReportQueries, Session, TrendCount

__all__ = [
    "COARSE_KINDS",
    "INTENT_BUCKETS",
    "TIERS",
    "ReportInput",
    "Section",
    "build_report",
    "intent_bucket",
    "intent_kinds",
    "period_figures",
]

TIERS = ("gold", "silver", "regular")
#: The intents mix's keys: the catalog kinds a message can have, ``other`` (greeting,
#: handoff, ids no longer in the catalog) and ``none`` (the matcher found nothing).
INTENT_BUCKETS = ("inquiry", "complaint", "feedback", "faq", "other", "none")
#: Kinds that say what kind of message it is, not what it is about.
COARSE_KINDS = frozenset({"inquiry", "complaint", "feedback", "greeting", "handoff"})
#: How long after a resolution a new message counts as the customer coming back (回头率).
REPEAT_WINDOW = timedelta(days=30)
#: CSAT comments listed in the report (the newest); `comments_total` counts them all.
COMMENTS_LIMIT = 50
TOP_TOPICS = 10
#: First-response histogram bin edges, business minutes (the last bin is open-ended).
FRT_BINS = (0, 5, 10, 15, 30, 60, 120, 240, 480, 1440)

#: A pluggable report section: ``(session, period, tier) -> dict`` stored under its name.
Section = Callable[[Session, Period, str | None], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ReportInput:
    """What a report needs besides the database."""

    settings: Settings
    period: Period
    now: datetime
    tier: str | None = None
    #: intent id -> catalog kind (``intents.load_catalog``); unknown ids are guessed by prefix.
    intent_kinds: Mapping[str, str] = field(default_factory=dict)
    sections: Mapping[str, Section] = field(default_factory=lambda: {"macros": macro_usage})


def intent_kinds(settings: Settings) -> dict[str, str]:
    """Intent id -> catalog kind, read from the catalog files (no model is built)."""
    # Imported here: the intents package loads its whole engine, and `carebot report` reads
    # the catalog on a side thread while the queries run.
    from intents import load_catalog

    specs, _problems = load_catalog(settings.intents_dirs)
    return {spec.id: spec.kind for spec in specs}


def intent_bucket(intent: str | None, kinds: Mapping[str, str]) -> str:
    """Which mix bucket a logged intent id falls in.

    >>> intent_bucket("faq.parking", {}), intent_bucket(None, {}), intent_bucket("greeting", {})
    ('faq', 'none', 'other')
    """
    if intent is None:
        return "none"
    kind = kinds.get(intent) or intent.split(".", 1)[0]
    return kind if kind in INTENT_BUCKETS else "other"


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), on sorted ``values``."""
    if not values:
        return None
    position = (len(values) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _durations(minutes: npt.NDArray[np.float64], scale: float) -> dict[str, Any]:
    # Sorted by numpy (a tenth of a list sort's time), read by `_percentile` as plain floats.
    ordered = np.sort(minutes).tolist()
    median, p90 = _percentile(ordered, 0.5), _percentile(ordered, 0.9)
    return {
        "count": len(ordered),
        "median": _rounded(None if median is None else median / scale),
        "p90": _rounded(None if p90 is None else p90 / scale),
    }


@dataclass(slots=True)
class _Complaints:
    """What the ticket pass learns about complaints: per tier, and when each was opened."""

    by_tier: Counter[str] = field(default_factory=Counter)
    opened_at: list[int] = field(default_factory=list)


class _Columns:
    """The ticket pass's rows as numpy columns (NaN = not yet / none)."""

    def __init__(self, rows: list[tuple[int | None, ...]]) -> None:
        # One conversion for the whole pass (None -> NaN); the columns are views of it.
        table = np.array(rows, dtype=np.float64).reshape(-1, len(TICKET_COLUMNS))

        def column(name: str) -> npt.NDArray[np.float64]:
            return table[:, TICKET_COLUMNS.index(name)]

        self.complaint = column("complaint") == 1
        self.assignee = column("assignee_id")
        self.created = column("created")
        self.first_response_due = column("first_response_due")
        self.resolution_due = column("resolution_due")
        self.first_responded = column("first_responded")
        self.resolved = column("resolved")
        self.csat = column("csat_score")
        self.breach_event = column("breach_event") == 1


def _verdicts(
    done: npt.NDArray[np.float64],
    due: npt.NDArray[np.float64],
    as_of: float,
    fallback: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.int8]:
    """Per ticket: 1 deadline met, 0 missed, -1 still running at ``as_of``.

    ``done``: when the deadline's work was done (NaN: not yet); ``fallback``: a later event
    that stops the clock too (a ticket resolved without a reply stops the first-response
    clock, as the SLA watcher stops watching it).
    """
    verdict = np.full(len(due), -1, dtype=np.int8)
    has = ~np.isnan(done)
    verdict[has] = done[has] <= due[has]
    pending = ~has
    if fallback is not None:
        stopped = pending & ~np.isnan(fallback)
        verdict[stopped] = fallback[stopped] <= due[stopped]
        pending &= ~stopped
    verdict[pending & (due < as_of)] = 0
    return verdict


def _share_met(verdict: npt.NDArray[np.int8]) -> float | None:
    return _ratio(int((verdict == 1).sum()), int((verdict >= 0).sum()))


def _median(values: npt.NDArray[np.float64]) -> float | None:
    return _rounded(float(np.median(values))) if len(values) else None


async def _tickets(
    queries: ReportQueries, inp: ReportInput, period: Period, complaints: _Complaints
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The tickets section and the per-staff rows, from one column-wise pass (which also
    counts the complaints). Vectorised: 100,000 tickets are numpy columns, not objects."""
    since, until, tier = period.since, period.until, inp.tier
    as_of = float(int(min(until, inp.now).timestamp()))
    t = _Columns(await queries.ticket_rows(since, until, tier))
    latest = float(np.nanmax(np.concatenate(([as_of], t.first_responded, t.resolved))))
    calendar = BusinessCalendar(inp.settings.business_hours, inp.settings.zone)
    clock = BusinessClock(calendar, since, datetime.fromtimestamp(latest, UTC) + timedelta(days=1))

    complaints.by_tier.update(await queries.complaints_by_tier(since, until, tier))
    complaints.opened_at = t.created[t.complaint].astype(np.int64).tolist()

    first = _verdicts(t.first_responded, t.first_response_due, as_of, fallback=t.resolved)
    resolution = _verdicts(t.resolved, t.resolution_due, as_of)
    answered = ~np.isnan(t.first_responded)
    solved = ~np.isnan(t.resolved)
    frt = np.full(len(t.created), np.nan)
    frt[answered] = clock.elapsed_many(t.created[answered], t.first_responded[answered]) / 60
    rt = clock.elapsed_many(t.created[solved], t.resolved[solved]) / 60
    answered_minutes = frt[answered]
    histogram = np.bincount(
        np.searchsorted(np.array(FRT_BINS), answered_minutes, side="right") - 1,
        minlength=len(FRT_BINS),
    )
    section = {
        "opened": len(t.created),
        "resolved": 0,  # from the CSAT pass (same tickets: resolved in the period)
        "reopened": await queries.reopened_count(since, until, tier),
        "sla_breached": int(((first == 0) | (resolution == 0) | t.breach_event).sum()),
        "first_response_breached": int((first == 0).sum()),
        "resolution_breached": int((resolution == 0).sum()),
        "first_response_minutes": {
            **_durations(answered_minutes, 1.0),
            "met_sla_share": _share_met(first),
        },
        "resolution_hours": {
            **_durations(rt, 60.0),
            "met_sla_share": _share_met(resolution),
        },
        "first_response_histogram": {
            "bins_minutes": list(FRT_BINS),
            "counts": [int(n) for n in histogram],
        },
    }
    assigned = ~np.isnan(t.assignee)
    ids, counts = np.unique(t.assignee[assigned], return_counts=True)
    names = await queries.staff_names() if len(ids) else {}
    staff = []
    for staff_id, count in sorted(zip(ids.astype(int).tolist(), counts.tolist(), strict=True),
                                  key=lambda kv: (-kv[1], kv[0])):  # fmt: skip
        mine = t.assignee == staff_id
        scores = t.csat[mine & ~np.isnan(t.csat)]
        staff.append(
            {
                "staff_id": staff_id,
                "name": names.get(staff_id, str(staff_id)),
                "tickets": count,
                "median_first_response_minutes": _median(frt[mine & answered]),
                "csat_rated": len(scores),
                "csat_average": _rounded(float(scores.mean()) if len(scores) else None),
            }
        )
    return section, staff


async def _volume(
    queries: ReportQueries, inp: ReportInput, period: Period
) -> tuple[dict[str, Any], dict[str, int]]:
    rows = await queries.inbound_by_intent(period.since, period.until, inp.tier)
    writers = await queries.writers_by_tier(period.since, period.until, inp.tier)
    mix = dict.fromkeys(INTENT_BUCKETS, 0)
    classified = 0
    for intent, _count, scored in rows:
        classified += scored
        mix[intent_bucket(intent, inp.intent_kinds)] += scored
    return {
        "messages_in": sum(count for _, count, _ in rows),
        "customers": sum(writers.values()),
        "classified": classified,
        "intents": mix,
        "intents_share": {key: _ratio(value, classified) for key, value in mix.items()},
        "fallback_share": _ratio(mix["none"], classified),
    }, writers


def _specific(intent: str, kinds: Mapping[str, str]) -> bool:
    """Whether an intent says what a complaint is about (``faq.delivery_time``,
    ``complaint.quality``), not just what kind of message it was (``complaint``)."""
    kind = kinds.get(intent) or intent.split(".", 1)[0]
    if kind == "complaint":
        return intent != "complaint"
    return kind not in COARSE_KINDS


async def _complaints(
    queries: ReportQueries,
    inp: ReportInput,
    period: Period,
    writers: Mapping[str, int],
    counted: _Complaints,
) -> dict[str, Any]:
    by_tier = counted.by_tier
    sets = await queries.complaint_intent_sets(period.since, period.until, inp.tier)
    tickets_per_intent: Counter[str] = Counter()
    for intents, n in sets:
        tickets_per_intent.update(dict.fromkeys(intents, n))
    specific = sorted(
        ((intent, n) for intent, n in tickets_per_intent.items()
         if _specific(intent, inp.intent_kinds)),
        key=lambda kv: (-kv[1], kv[0]),
    )  # fmt: skip
    total = sum(by_tier.values())
    topics = {intent for intent, _ in specific}
    with_topic = sum(n for intents, n in sets if intents & topics)
    if total > with_topic:
        specific = sorted([*specific, ("none", total - with_topic)], key=lambda kv: (-kv[1], kv[0]))
    tiers = [inp.tier] if inp.tier else list(TIERS)
    return {
        "complaints": total,
        "customers": sum(writers.values()),
        "rate": _ratio(total, sum(writers.values())),
        "by_tier": {t: by_tier.get(t, 0) for t in tiers},
        "per_1000_contacts_by_tier": {
            t: _rounded(1000 * by_tier.get(t, 0) / writers[t] if writers.get(t) else None, 1)
            for t in tiers
        },
        "top_topics": [
            {"topic": topic, "complaints": count, "share": _ratio(count, total)}
            for topic, count in specific[:TOP_TOPICS]
        ],
    }


async def _csat(queries: ReportQueries, inp: ReportInput, period: Period) -> dict[str, Any]:
    rows = await queries.csat_by_tier(period.since, period.until, inp.tier)
    comments = await queries.csat_comments(period.since, period.until, inp.tier, COMMENTS_LIMIT)
    total = sum(commented for *_, commented in rows)
    distribution = {str(score): 0 for score in range(1, 6)}
    per_tier: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # resolved, rated, sum
    for tier, score, count, _commented in rows:
        per_tier[tier][0] += count
        if score is not None:
            distribution[str(score)] += count
            per_tier[tier][1] += count
            per_tier[tier][2] += score * count
    resolved = sum(v[0] for v in per_tier.values())
    rated = sum(v[1] for v in per_tier.values())
    points = sum(v[2] for v in per_tier.values())
    tiers = [inp.tier] if inp.tier else list(TIERS)
    return {
        "resolved": resolved,
        "rated": rated,
        "response_rate": _ratio(rated, resolved),
        "average": _rounded(points / rated if rated else None),
        "distribution": distribution,
        "by_tier": {
            t: {
                "rated": per_tier[t][1],
                "average": _rounded(per_tier[t][2] / per_tier[t][1] if per_tier[t][1] else None),
                "response_rate": _ratio(per_tier[t][1], per_tier[t][0]),
            }
            for t in tiers
        },
        "comments_total": total,
        "comments": [
            {
                "ticket": c.number,
                "tier": c.tier,
                "score": c.score,
                "comment": c.comment,
                "resolved_at": datetime.fromtimestamp(c.resolved, UTC).isoformat(),
            }
            for c in comments
        ],
    }


async def _loyalty(queries: ReportQueries, inp: ReportInput, period: Period) -> dict[str, Any]:
    since, until, tier = period.since, period.until, inp.tier
    resolved_customers, returned = await queries.repeat_contacts(
        since, until, tier, int(REPEAT_WINDOW.total_seconds())
    )
    greeted, opted_out = await queries.opted_out_in_period(since, until, tier)
    customers, opted_now, blocked_now = await queries.customer_states(tier)
    return {
        "resolved_customers": resolved_customers,
        "returned_customers": returned,
        "repeat_contact_rate": _ratio(returned, resolved_customers),
        "greeted_customers": greeted,
        "greeted_opted_out": opted_out,
        "opt_out_rate": _ratio(opted_out, greeted),
        "blocked_in_period": await queries.blocked_in_period(since, until, tier),
        "customers_total": customers,
        "opted_out_total": opted_now,
        "blocked_total": blocked_now,
    }


_OUTCOMES = ("sent", "failed", "blocked", "deferred", "opted_out", "skipped", "pending")


async def _campaigns(queries: ReportQueries, inp: ReportInput, period: Period) -> dict[str, Any]:
    counts = await queries.campaign_counts(period.since, period.until, inp.tier)
    campaigns: dict[int, dict[str, Any]] = {}
    totals = dict.fromkeys(("recipients", *_OUTCOMES), 0)
    for row in counts:
        entry = campaigns.setdefault(
            row.campaign_id,
            {
                "id": row.campaign_id,
                "name": row.name,
                "occasion": row.occasion,
                "status": row.status,
                "tiers": {},
                "totals": dict.fromkeys(("recipients", *_OUTCOMES), 0),
            },
        )
        tier_counts = entry["tiers"].setdefault(
            row.tier, dict.fromkeys(("recipients", *_OUTCOMES), 0)
        )
        for target in (tier_counts, entry["totals"], totals):
            target[row.outcome] += row.count
            if row.outcome != "deferred":  # deferred rows are also counted by their outcome
                target["recipients"] += row.count
    created, done = await queries.call_tasks(period.since, period.until, inp.tier)
    return {
        "campaigns": [campaigns[key] for key in sorted(campaigns)],
        "totals": totals,
        "delivery_rate": _ratio(totals["sent"], totals["recipients"]),
        "call_tasks": {"created": created, "done": done},
    }


async def macro_usage(session: Session, period: Period, tier: str | None) -> dict[str, Any]:
    """Staff macros in the period: per-script counts and the suggestion hit rate (all tiers:
    staff answer a ticket, not a tier)."""
    return usage_summary(await MacroRepo(session).usage(period.since, period.until))


async def _period(
    session: Session, inp: ReportInput, period: Period
) -> tuple[dict[str, Any], _Complaints]:
    queries = ReportQueries(session)
    volume, writers = await _volume(queries, inp, period)
    counted = _Complaints()
    tickets, staff = await _tickets(queries, inp, period, counted)
    csat = await _csat(queries, inp, period)
    tickets["resolved"] = csat["resolved"]
    figures: dict[str, Any] = {
        "volume": volume,
        "complaints": await _complaints(queries, inp, period, writers, counted),
        "tickets": tickets,
        "staff": staff,
        "csat": csat,
        "loyalty": await _loyalty(queries, inp, period),
        "campaigns": await _campaigns(queries, inp, period),
    }
    for name, section in inp.sections.items():
        figures[name] = await section(session, period, inp.tier)
    figures["has_data"] = bool(
        volume["messages_in"]
        or tickets["opened"]
        or tickets["resolved"]
        or figures["campaigns"]["totals"]["recipients"]
    )
    return figures, counted


async def period_figures(session: Session, inp: ReportInput, period: Period) -> dict[str, Any]:
    """Every figure of one period (the report's ``current`` or ``previous`` object)."""
    figures, _ = await _period(session, inp, period)
    return figures


def _bucket_size(days: int) -> tuple[str, int]:
    if days <= 31:
        return "day", 1
    if days <= 182:
        return "week", 7
    return "month", 30


_TrendCounts = tuple[list[TrendCount], list[TrendCount]]


async def _trend_counts(session: Session, inp: ReportInput) -> _TrendCounts:
    """The trends' SQL part: writers and CSAT per bucket of the period."""
    queries = ReportQueries(session)
    period = inp.period
    size = _bucket_size(period.days)[1] * 86400
    offset = -int(period.since.timestamp())
    writers = await queries.writers_trend(period.since, period.until, inp.tier, offset, size)
    csat = await queries.csat_trend(period.since, period.until, inp.tier, offset, size)
    return writers, csat


def _trends(inp: ReportInput, complaints: _Complaints, counts: _TrendCounts) -> dict[str, Any]:
    """Complaint rate and CSAT per day (week, 30 days for long periods) of the period."""
    period = inp.period
    unit, days = _bucket_size(period.days)
    size = days * 86400
    start = int(period.since.timestamp())
    writers, csat = counts
    complaint_by = Counter((moment - start) // size for moment in complaints.opened_at)
    writers_by = {c.bucket: c.values[0] for c in writers}
    csat_by = {c.bucket: c.values for c in csat}
    count = math.ceil(period.days / days)
    points = []
    for index in range(count):
        first = (period.since + timedelta(days=index * days)).astimezone(period.zone).date()
        n_complaints = int(complaint_by.get(index, 0))
        n_writers = int(writers_by.get(index, 0))
        rated, points_sum = csat_by.get(index, (0.0, 0.0))
        points.append(
            {
                "start": first.isoformat(),
                "complaints": n_complaints,
                "customers": n_writers,
                "complaint_rate": _ratio(n_complaints, n_writers),
                "csat_rated": int(rated),
                "csat_average": _rounded(points_sum / rated if rated else None),
            }
        )
    return {"bucket": unit, "points": points}


def _sla_minutes(settings: Settings) -> dict[str, float]:
    """First-response promises in business minutes per ticket kind (regular customers)."""
    return {
        kind: policy.first_response("regular").total_seconds() / 60
        for kind, policy in settings.sla.items()
    }


async def build_report(database: Database, inp: ReportInput) -> dict[str, Any]:
    """The whole report: the period, the previous period of equal length, and trends.

    The period, the previous period and the trends' counts are read concurrently, each on its
    own read session (its own connection): on a 2-core machine that nearly halves the wall
    time of a large report, since both SQLite's and PostgreSQL's query work happens outside
    the event loop. Each session is a consistent snapshot; a message logged between the
    snapshots can only move a figure of the period it belongs to.
    """
    period = inp.period
    previous = period.previous()

    def describe(p: Period) -> dict[str, Any]:
        return {
            "first_day": p.first_day.isoformat(),
            "last_day": p.last_day.isoformat(),
            "days": p.days,
            "since": p.since.isoformat(),
            "until": p.until.isoformat(),
        }

    async def current_figures() -> tuple[dict[str, Any], _Complaints]:
        async with database.read_session() as session:
            return await _period(session, inp, period)

    async def previous_figures() -> dict[str, Any]:
        async with database.read_session() as session:
            return await period_figures(session, inp, previous)

    async def trend_counts() -> _TrendCounts:
        async with database.read_session() as session:
            return await _trend_counts(session, inp)

    if database.is_in_memory:  # one shared connection: the reads must take turns
        (current, complaints), before, counts = (
            await current_figures(), await previous_figures(), await trend_counts()
        )  # fmt: skip
    else:
        (current, complaints), before, counts = await asyncio.gather(
            current_figures(), previous_figures(), trend_counts()
        )
    trends = _trends(inp, complaints, counts)
    return {
        "report_version": 1,
        "generated_at": inp.now.astimezone(UTC).isoformat(timespec="seconds"),
        "timezone": inp.settings.timezone,
        "tier": inp.tier,
        "period": describe(period),
        "previous_period": describe(previous),
        "sla_first_response_minutes": _sla_minutes(inp.settings),
        "current": current,
        "previous": before,
        "trends": trends,
    }
