"""Manager reports: every JSON figure of a seeded database, computed by hand.

The seed (times are Shanghai local, business hours 09:00-21:00 every day, 2026-11-04 a
holiday; SLA defaults: complaint 30 min / 24 h, inquiry 120 min / 48 h, gold half):

period 2026-11-02 .. 2026-11-08, previous 2026-10-26 .. 2026-11-01, now 2026-11-20.

- T1 gold c1 complaint 11-02 10:00; FR due 10:15, answered 10:10 (10 min); resolution due
  11-03 10:00, resolved 11-03 09:30 (11 h + 30 min = 690 min); CSAT 5 "很满意"; staff 501.
- T2 silver c2 complaint 11-03 20:50; FR due 11-05 09:20 (10 min, holiday, 20 min), answered
  09:40 (50 min: breached, watcher's breach event too); reopened 11-06 15:00 and resolved
  again 16:00 (10 min + 12 h + 7 h = 1150 min; due 11-06 20:50: met); CSAT 2; staff 502.
- T3 regular c4 inquiry 11-06 12:05; FR due 14:05, never answered (breached by the period's
  end); resolution due 11-10 12:05 (still running at the end: neither met nor breached).
- T4 regular c3 complaint 11-07 20:00; answered 20:20 (20 min); resolved 11-08 10:00
  (1 h + 1 h = 120 min); CSAT 4 "回复很快"; staff 501.
- T5 gold c1 inquiry 11-08 11:00; FR due 12:00 (60 min), answered 11:30 (30 min); running.
- T6 regular c5 complaint 10-30 (previous period), never answered, resolved 11-02 09:30
  (in this period), not rated. T0 silver c2 complaint 10-28 10:00, answered 10:20, resolved
  12:00 (previous period).
- Campaign "立冬问候" on 11-07: c1 gold sent after a quiet-hours deferral, c2 silver failed,
  c3 sent, c6 skipped (opted out), c5 blocked (403), c4 still pending after a deferral;
  c1's personal call task done.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from care.desk.business_hours import BusinessCalendar
from care.reports.clock import BusinessClock
from care.reports.figures import ReportInput, build_report
from care.reports.period import parse_period
from care.runtime.settings import BusinessHours, Settings, load_settings
from scripts._lint import SAMPLE_VALUES  # the lint's realistic values, every variable
from storage import (
    Campaign,
    CampaignStatus,
    CareTask,
    CareTaskStatus,
    Customer,
    Database,
    Delivery,
    DeliveryStatus,
    MessageLog,
    Ticket,
    TicketEvent,
    TicketEventKind,
    TicketStatus,
    Tier,
)

ZONE = ZoneInfo("Asia/Shanghai")
HOLIDAY = date(2026, 11, 4)
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
KINDS = {
    "inquiry": "inquiry",
    "complaint": "complaint",
    "feedback": "feedback",
    "greeting": "greeting",
    "handoff": "handoff",
    "faq.delivery_time": "faq",
    "faq.parking": "faq",
    "faq.store_hours": "faq",
}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


@pytest.fixture
def report_settings(database_url: str) -> Settings:
    return load_settings(
        database_url=database_url, business_hours=BusinessHours(holidays=[HOLIDAY])
    )


def _ticket(
    tid: int,
    customer: int,
    kind: str,
    created: datetime,
    fr_due: datetime,
    res_due: datetime,
    **extra: Any,
) -> Ticket:
    return Ticket(
        id=tid,
        number=f"C-{created.astimezone(ZONE):%Y%m%d}-{tid:04d}",
        kind=kind,
        customer_id=customer,
        subject=f"T{tid}",
        created_at=created,
        updated_at=created,
        first_response_due=fr_due,
        resolution_due=res_due,
        **extra,
    )


def _msg(
    customer: int,
    when: datetime,
    intent: str | None,
    score: float | None,
    ticket: int | None = None,
    content_type: str = "text",
) -> MessageLog:
    return MessageLog(
        customer_id=customer,
        ticket_id=ticket,
        direction="in",
        content_type=content_type,
        text="...",
        intent=intent,
        score=score,
        created_at=when,
    )


async def seed(database: Database, settings: Settings) -> None:
    calendar = BusinessCalendar(settings.business_hours, settings.zone)
    sla = settings.sla

    def due(kind: str, tier: str, created: datetime) -> tuple[datetime, datetime]:
        return (
            calendar.add(created, sla[kind].first_response(tier)),
            calendar.add(created, sla[kind].resolution(tier)),
        )

    # The hand-computed deadlines of the docstring are the calendar's own.
    assert due("complaint", "gold", at(11, 2, 10)) == (at(11, 2, 10, 15), at(11, 3, 10))
    assert due("complaint", "silver", at(11, 3, 20, 50)) == (at(11, 5, 9, 20), at(11, 6, 20, 50))
    assert due("inquiry", "regular", at(11, 6, 12, 5)) == (at(11, 6, 14, 5), at(11, 10, 12, 5))
    assert due("inquiry", "gold", at(11, 8, 11))[0] == at(11, 8, 12)
    assert due("complaint", "regular", at(10, 30, 10)) == (at(10, 30, 10, 30), at(11, 1, 10))

    customers = [
        Customer(id=1, telegram_id=1001, first_name="c1", tier=Tier.GOLD),
        Customer(id=2, telegram_id=1002, first_name="c2", tier=Tier.REGULAR,
                 tier_override=Tier.SILVER),
        Customer(id=3, telegram_id=1003, first_name="c3", tier=Tier.REGULAR,
                 opt_outs='["holiday"]'),
        Customer(id=4, telegram_id=1004, first_name="c4", tier=Tier.REGULAR),
        Customer(id=5, telegram_id=1005, first_name="c5", tier=Tier.REGULAR, blocked=True),
        Customer(id=6, telegram_id=1006, first_name="c6", tier=Tier.REGULAR,
                 opt_outs='["birthday", "holiday"]'),
    ]  # fmt: skip
    resolved, finished = TicketStatus.RESOLVED, TicketStatus.CLOSED
    tickets = [
        _ticket(10, 2, "complaint", at(10, 28, 10), *due("complaint", "silver", at(10, 28, 10)),
                first_responded_at=at(10, 28, 10, 20), resolved_at=at(10, 28, 12),
                closed_at=at(11, 1, 12), status=finished),
        _ticket(6, 5, "complaint", at(10, 30, 10), *due("complaint", "regular", at(10, 30, 10)),
                resolved_at=at(11, 2, 9, 30), status=resolved),
        _ticket(1, 1, "complaint", at(11, 2, 10), *due("complaint", "gold", at(11, 2, 10)),
                first_responded_at=at(11, 2, 10, 10), resolved_at=at(11, 3, 9, 30),
                status=resolved, csat_score=5, csat_comment="很满意", assignee_id=501),
        _ticket(2, 2, "complaint", at(11, 3, 20, 50),
                *due("complaint", "silver", at(11, 3, 20, 50)),
                first_responded_at=at(11, 5, 9, 40), resolved_at=at(11, 6, 16),
                status=resolved, csat_score=2, assignee_id=502),
        _ticket(3, 4, "inquiry", at(11, 6, 12, 5), *due("inquiry", "regular", at(11, 6, 12, 5))),
        _ticket(4, 3, "complaint", at(11, 7, 20), *due("complaint", "regular", at(11, 7, 20)),
                first_responded_at=at(11, 7, 20, 20), resolved_at=at(11, 8, 10),
                status=resolved, csat_score=4, csat_comment="回复很快", assignee_id=501),
        _ticket(5, 1, "inquiry", at(11, 8, 11), *due("inquiry", "gold", at(11, 8, 11)),
                first_responded_at=at(11, 8, 11, 30), status=TicketStatus.OPEN,
                assignee_id=502),
    ]  # fmt: skip
    messages = [
        _msg(2, at(10, 28, 10), "complaint", 75, 10),
        _msg(5, at(10, 30, 10), "complaint", 70, 6),
        _msg(1, at(11, 2, 10), "complaint", 80, 1),
        _msg(1, at(11, 2, 10, 5), "faq.delivery_time", 70, 1),
        _msg(2, at(11, 3, 20, 50), "complaint", 75, 2),
        _msg(1, at(11, 4, 12), "greeting", 95),
        _msg(3, at(11, 5, 9), "faq.parking", 90),
        _msg(3, at(11, 5, 9, 1), None, 20),
        _msg(3, at(11, 5, 9, 2), None, None, content_type="callback"),
        _msg(4, at(11, 6, 12), "inquiry", 60),
        _msg(4, at(11, 6, 12, 1), None, None, content_type="photo"),
        _msg(4, at(11, 6, 12, 5), "handoff", 85, 3),
        _msg(3, at(11, 7, 10), "feedback", 70),
        _msg(3, at(11, 7, 20), None, 30, 4),
        _msg(3, at(11, 8, 10, 5), None, None, 4),  # the CSAT comment
        _msg(1, at(11, 8, 11), "faq.store_hours", 80, 5),
        _msg(3, at(11, 9, 10), "inquiry", 60),  # after the period: c3 came back
    ]
    outbound = MessageLog(
        customer_id=1, direction="out", content_type="text", text="hi", created_at=at(11, 2, 10)
    )
    events = [
        TicketEvent(ticket_id=1, kind=TicketEventKind.TAKE, actor_id=501, actor_name="Wang",
                    created_at=at(11, 2, 10, 10)),
        TicketEvent(ticket_id=4, kind=TicketEventKind.TAKE, actor_id=501, actor_name="王芳",
                    created_at=at(11, 7, 20, 20)),
        TicketEvent(ticket_id=2, kind=TicketEventKind.TAKE, actor_id=502, actor_name="Li Lei",
                    created_at=at(11, 5, 9, 40)),
        TicketEvent(ticket_id=2, kind=TicketEventKind.SLA_BREACH, text="first_response",
                    created_at=at(11, 5, 9, 20)),
        TicketEvent(ticket_id=2, kind=TicketEventKind.RESOLVE, actor_id=502, actor_name="Li Lei",
                    created_at=at(11, 6, 10)),
        TicketEvent(ticket_id=2, kind=TicketEventKind.REOPEN, actor_id=502, actor_name="Li Lei",
                    created_at=at(11, 6, 15)),
        TicketEvent(ticket_id=2, kind=TicketEventKind.RESOLVE, actor_id=502, actor_name="Li Lei",
                    created_at=at(11, 6, 16)),
    ]  # fmt: skip
    campaign = Campaign(
        id=1, name="立冬问候", occasion="winter_solstice", window_start=at(11, 7, 9),
        window_end=at(11, 7, 21), status=CampaignStatus.DONE,
    )  # fmt: skip
    sent_at = at(11, 7, 10)

    def delivery(customer: int, tier: Tier, status: DeliveryStatus, **extra: Any) -> Delivery:
        return Delivery(
            campaign_id=1, customer_id=customer, chat_id=1000 + customer, tier=tier,
            status=status, created_at=at(11, 7, 9), updated_at=sent_at, **extra,
        )  # fmt: skip

    deliveries = [
        delivery(1, Tier.GOLD, DeliveryStatus.SENT, not_before=at(11, 7, 9, 30)),
        delivery(2, Tier.SILVER, DeliveryStatus.FAILED, error="chat not found"),
        delivery(3, Tier.REGULAR, DeliveryStatus.SENT),
        delivery(6, Tier.REGULAR, DeliveryStatus.SKIPPED, error="skipped: opted out"),
        delivery(5, Tier.REGULAR, DeliveryStatus.BLOCKED, error="blocked by the user"),
        delivery(4, Tier.REGULAR, DeliveryStatus.PENDING, not_before=at(11, 8, 9)),
    ]
    task = CareTask(
        campaign_id=1, customer_id=1, occasion="winter_solstice", status=CareTaskStatus.DONE,
        created_at=at(11, 7, 9), done_at=at(11, 7, 15), done_by="Wang",
    )  # fmt: skip
    async with database.transaction() as session:
        session.add_all(customers)
        await session.flush()
        session.add_all(tickets)
        await session.flush()
        session.add_all([*messages, outbound, *events, campaign])
        await session.flush()
        session.add_all([*deliveries, task])


async def _report(settings: Settings, tier: str | None = None, **period: str) -> dict[str, Any]:
    database = Database(settings.database_url)
    try:
        await database.upgrade()
        chosen = parse_period(
            period.get("since", "2026-11-02"), period.get("until", "2026-11-08"),
            settings.zone, today=NOW.date(),
        )  # fmt: skip
        report = await build_report(
            database, ReportInput(settings, chosen, NOW, tier=tier, intent_kinds=KINDS)
        )
    finally:
        await database.dispose()
    return json.loads(json.dumps(report))  # what --json prints: plain JSON types only


@pytest.fixture
async def seeded(report_settings: Settings) -> Settings:
    database = Database(report_settings.database_url)
    await database.upgrade()
    await seed(database, report_settings)
    await database.dispose()
    return report_settings


async def test_every_figure_of_the_seeded_period(seeded: Settings) -> None:
    report = await _report(seeded)
    assert report["period"]["first_day"] == "2026-11-02"
    assert report["period"]["days"] == 7
    assert report["previous_period"]["first_day"] == "2026-10-26"
    assert report["previous_period"]["last_day"] == "2026-11-01"
    cur = report["current"]
    assert cur["has_data"] is True
    assert cur["volume"] == {
        "messages_in": 13,
        "customers": 4,
        "classified": 11,
        "intents": {"inquiry": 1, "complaint": 2, "feedback": 1, "faq": 3, "other": 2, "none": 2},
        "intents_share": {
            "inquiry": 0.0909, "complaint": 0.1818, "feedback": 0.0909, "faq": 0.2727,
            "other": 0.1818, "none": 0.1818,
        },
        "fallback_share": 0.1818,
    }  # fmt: skip
    assert cur["complaints"] == {
        "complaints": 3,
        "customers": 4,
        "rate": 0.75,
        "by_tier": {"gold": 1, "silver": 1, "regular": 1},
        "per_1000_contacts_by_tier": {"gold": 1000.0, "silver": 1000.0, "regular": 500.0},
        # T1's messages mention faq.delivery_time; T2 only says "complaint" and T4 matched
        # nothing: two complaints without a specific topic.
        "top_topics": [
            {"topic": "none", "complaints": 2, "share": 0.6667},
            {"topic": "faq.delivery_time", "complaints": 1, "share": 0.3333},
        ],
    }
    assert cur["tickets"] == {
        "opened": 5,
        "resolved": 4,
        "reopened": 1,
        "sla_breached": 2,
        "first_response_breached": 2,
        "resolution_breached": 0,
        "first_response_minutes": {"count": 4, "median": 25.0, "p90": 44.0, "met_sla_share": 0.6},
        "resolution_hours": {"count": 3, "median": 11.5, "p90": 17.63, "met_sla_share": 1.0},
        "first_response_histogram": {
            "bins_minutes": [0, 5, 10, 15, 30, 60, 120, 240, 480, 1440],
            "counts": [0, 0, 1, 1, 2, 0, 0, 0, 0, 0],
        },
    }
    assert cur["staff"] == [
        {"staff_id": 501, "name": "王芳", "tickets": 2, "median_first_response_minutes": 15.0,
         "csat_rated": 2, "csat_average": 4.5},
        {"staff_id": 502, "name": "Li Lei", "tickets": 2, "median_first_response_minutes": 40.0,
         "csat_rated": 1, "csat_average": 2.0},
    ]  # fmt: skip
    csat = cur["csat"]
    assert {k: v for k, v in csat.items() if k != "comments"} == {
        "resolved": 4,
        "rated": 3,
        "response_rate": 0.75,
        "average": 3.67,
        "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
        "by_tier": {
            "gold": {"rated": 1, "average": 5.0, "response_rate": 1.0},
            "silver": {"rated": 1, "average": 2.0, "response_rate": 1.0},
            "regular": {"rated": 1, "average": 4.0, "response_rate": 0.5},
        },
        "comments_total": 2,
    }
    assert [(c["ticket"], c["score"], c["comment"], c["tier"]) for c in csat["comments"]] == [
        ("C-20261107-0004", 4, "回复很快", "regular"),
        ("C-20261102-0001", 5, "很满意", "gold"),
    ]
    assert cur["loyalty"] == {
        "resolved_customers": 4,
        "returned_customers": 2,
        "repeat_contact_rate": 0.5,
        "greeted_customers": 2,
        "greeted_opted_out": 1,
        "opt_out_rate": 0.5,
        "blocked_in_period": 1,
        "customers_total": 6,
        "opted_out_total": 2,
        "blocked_total": 1,
    }
    zero = dict.fromkeys(
        ("recipients", "sent", "failed", "blocked", "deferred", "opted_out", "skipped", "pending"),
        0,
    )
    totals = {
        **zero,
        **{"recipients": 6, "sent": 2, "failed": 1, "blocked": 1, "deferred": 2},
        **{"opted_out": 1, "pending": 1},
    }
    assert cur["campaigns"] == {
        "campaigns": [
            {
                "id": 1,
                "name": "立冬问候",
                "occasion": "winter_solstice",
                "status": "done",
                "tiers": {
                    "gold": {**zero, "recipients": 1, "sent": 1, "deferred": 1},
                    "silver": {**zero, "recipients": 1, "failed": 1},
                    "regular": {
                        **zero,
                        "recipients": 4,
                        "sent": 1,
                        "opted_out": 1,
                        "blocked": 1,
                        "pending": 1,
                        "deferred": 1,
                    },
                },
                "totals": totals,
            }
        ],
        "totals": totals,
        "delivery_rate": 0.3333,
        "call_tasks": {"created": 1, "done": 1},
    }
    trend = report["trends"]
    assert trend["bucket"] == "day"
    assert [p["start"] for p in trend["points"]][:2] == ["2026-11-02", "2026-11-03"]
    assert [p["complaints"] for p in trend["points"]] == [1, 1, 0, 0, 0, 1, 0]
    assert [p["customers"] for p in trend["points"]] == [1, 1, 1, 1, 1, 1, 2]
    assert [p["csat_average"] for p in trend["points"]] == [None, 5.0, None, None, 2.0, None, 4.0]


async def test_previous_period_beside_it(seeded: Settings) -> None:
    prev = (await _report(seeded))["previous"]
    assert prev["volume"]["messages_in"] == 2
    assert prev["volume"]["customers"] == 2
    assert prev["complaints"]["complaints"] == 2
    assert prev["complaints"]["rate"] == 1.0
    tickets = prev["tickets"]
    assert (tickets["opened"], tickets["resolved"], tickets["reopened"]) == (2, 1, 0)
    # T6 was never answered and resolved late: both of its deadlines were missed.
    assert (tickets["sla_breached"], tickets["first_response_breached"]) == (1, 1)
    assert tickets["resolution_breached"] == 1
    assert tickets["first_response_minutes"] == {
        "count": 1, "median": 20.0, "p90": 20.0, "met_sla_share": 0.5,
    }  # fmt: skip
    # Times belong to the period the ticket was opened in: T6 (35.5 business hours, resolved
    # in the next period) counts here, beside T0's 2 hours.
    assert tickets["resolution_hours"]["count"] == 2
    assert tickets["resolution_hours"]["median"] == 18.75
    assert prev["campaigns"]["campaigns"] == []
    assert prev["csat"]["response_rate"] == 0.0


async def test_tier_filter(seeded: Settings) -> None:
    gold = (await _report(seeded, tier="gold"))["current"]
    assert gold["volume"]["messages_in"] == 4
    assert gold["volume"]["intents"] == {
        "inquiry": 0, "complaint": 1, "feedback": 0, "faq": 2, "other": 1, "none": 0,
    }  # fmt: skip
    assert gold["complaints"]["by_tier"] == {"gold": 1}
    assert gold["tickets"]["opened"] == 2
    assert gold["tickets"]["first_response_minutes"]["median"] == 20.0
    assert gold["campaigns"]["totals"]["recipients"] == 1
    assert gold["loyalty"]["customers_total"] == 1


async def test_empty_database_gives_zeros_and_no_data(report_settings: Settings) -> None:
    report = await _report(report_settings)
    for figures in (report["current"], report["previous"]):
        assert figures["has_data"] is False
        assert figures["volume"]["messages_in"] == 0
        assert figures["volume"]["fallback_share"] is None
        assert figures["complaints"]["rate"] is None
        assert figures["complaints"]["per_1000_contacts_by_tier"] == {
            "gold": None, "silver": None, "regular": None,
        }  # fmt: skip
        assert figures["tickets"]["first_response_minutes"] == {
            "count": 0, "median": None, "p90": None, "met_sla_share": None,
        }  # fmt: skip
        assert figures["csat"]["average"] is None
        assert figures["loyalty"]["repeat_contact_rate"] is None
        assert figures["campaigns"]["delivery_rate"] is None
        assert figures["staff"] == []
    assert all(p["complaint_rate"] is None for p in report["trends"]["points"])


async def test_an_in_memory_database_reads_its_two_periods_in_turn() -> None:
    # One shared connection (StaticPool): the periods, read side by side on a file or a
    # server database, must not interleave two transactions on it.
    settings = load_settings(
        database_url="sqlite+aiosqlite://", business_hours=BusinessHours(holidays=[HOLIDAY])
    )
    report = await _report(settings)
    assert report["current"]["has_data"] is False and report["previous"]["has_data"] is False


def test_business_clock_agrees_with_the_calendar() -> None:
    calendar = BusinessCalendar(BusinessHours(weekdays=[0, 1, 2, 3, 4], holidays=[HOLIDAY]), ZONE)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    clock = BusinessClock(calendar, start, start + timedelta(days=90))
    rng = random.Random(7)
    pairs = []
    for _ in range(300):
        a = start + timedelta(minutes=rng.randrange(60 * 24 * 60))
        b = a + timedelta(minutes=rng.randrange(60 * 24 * 20))
        expected = calendar.elapsed(a, b).total_seconds()
        assert clock.elapsed(a.timestamp(), b.timestamp()) == pytest.approx(expected)
        pairs.append((a.timestamp(), b.timestamp(), expected))
    starts, ends, expected_all = (np.array(column) for column in zip(*pairs, strict=True))
    assert clock.elapsed_many(starts, ends) == pytest.approx(expected_all)


def test_cli_json(seeded: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from care.cli import app

    monkeypatch.setenv("DATABASE_URL", seeded.database_url)
    monkeypatch.setenv("BUSINESS_HOURS__HOLIDAYS", '["2026-11-04"]')
    runner = CliRunner()
    result = runner.invoke(
        app, ["report", "--since", "2026-11-02", "--until", "2026-11-08", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["current"]["tickets"]["opened"] == 5
    assert report["current"]["volume"]["intents"]["faq"] == 3  # the bundled catalog's kinds
    bad = runner.invoke(app, ["report", "--since", "last week"])
    assert bad.exit_code == 2
    assert "--since" in bad.output


async def test_read_session_lets_the_bot_write_meanwhile(tmp_path: Path) -> None:
    """A report's long read on SQLite must not hold the write lock (BEGIN, not IMMEDIATE)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'read.db'}")
    writer = Database(database.url.render_as_string(hide_password=False))
    try:
        await database.upgrade()
        async with database.read_session() as reading:
            await reading.execute(select(func.count()).select_from(Customer))
            # Would wait the 30 s busy timeout (and fail here) if the reader held the lock.
            async with asyncio.timeout(20), writer.transaction() as session:
                session.add(Customer(telegram_id=1, first_name="x"))
            assert (await reading.execute(select(func.count()).select_from(Customer))).scalar() == 0
    finally:
        await writer.dispose()
        await database.dispose()


def _texts(settings: Settings, language: str) -> Any:
    from care.reports.texts import load_texts

    return load_texts(settings, language)


async def test_html_page_is_self_contained_with_five_charts(seeded: Settings) -> None:
    # One language is enough here (drawing is slow): Traditional, the derived one; the
    # glyph test below covers every language's words.
    language = "zh-Hant"
    from care.reports.page import render_page

    report = await _report(seeded)
    page = render_page(report, _texts(seeded, language))
    assert page.count("<svg") == 5
    assert page.count("<figure") == 5
    # Nothing to fetch: no script, stylesheet link, image source or web font.
    for needle in ("<script", "<link", "src=", "@import"):
        assert needle not in page
    # Only references inside the page: SVG clip paths and the embedded font subset.
    assert not re.search(r"url\((?!#|data:font/woff;base64,)", page)
    assert "@font-face" in page
    assert "@media print" in page and "size: A4" in page
    assert "客戶關懷報告" in page
    assert "回复很快" in page  # the CSAT comments are on it
    assert "立冬问候" in page  # and the campaign


async def test_html_page_of_an_empty_database_says_no_data(report_settings: Settings) -> None:
    from care.reports.page import render_page

    page = render_page(await _report(report_settings), _texts(report_settings, "en"))
    assert page.count("<svg") == 5
    assert "no data" in page


async def test_html_page_with_the_font_cut_in_a_forked_child_is_the_same_page(
    report_settings: Settings,
) -> None:
    """`carebot report --html` cuts the web font in a forked child while it draws the charts:
    the same page (up to the SVGs' creation dates and the font's own timestamp)."""
    from care.reports.page import render_page

    report = await _report(report_settings)
    texts = _texts(report_settings, "en")
    here, forked = render_page(report, texts), render_page(report, texts, fork=True)

    def font(page: str) -> bytes:
        found = re.search(r"base64,([A-Za-z0-9+/=]+)\)", page)
        assert found is not None
        return base64.b64decode(found.group(1))

    def rest(page: str) -> str:
        return re.sub(r"<dc:date>[^<]*</dc:date>|base64,[A-Za-z0-9+/=]+", "", page)

    assert rest(forked) == rest(here)
    assert len(font(forked)) == len(font(here)) > 1000


def test_every_report_label_has_glyphs_in_the_bundled_font(report_settings: Settings) -> None:
    """No tofu: each character of every report text, in each language, exists in the CJK
    font the charts use (registered from the installed package, not the system)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    from care.reports.charts import font_family

    for language in ("zh-Hans", "zh-Hant", "en"):
        family = font_family(language)
        path = font_manager.findfont(
            font_manager.FontProperties(family=family[0]), fallback_to_default=False
        )
        assert path.endswith("NotoSansCJK-Regular.ttc")
        font = FT2Font(path)
        texts = _texts(report_settings, language)
        library = texts.renderer.library
        ids = [s for s in library.scripts if s.startswith("report.")]
        assert len(ids) > 50
        for script_id in ids:
            text = texts.plain(script_id, SAMPLE_VALUES[language])
            missing = {c for c in text if not c.isspace() and font.get_char_index(ord(c)) == 0}
            assert not missing, (language, script_id, missing)
