"""Report benchmark: `carebot report` over a seeded database of 100,000 tickets.

Seeds a fresh SQLite database (customers, a message log around every ticket, staff events,
CSAT, a campaign ledger), then runs the real command line in a child process - as an
operator would - and measures wall time and the child's peak RSS (``ru_maxrss``), for the
JSON report and for the HTML page with its charts.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from storage import (
    Campaign,
    CareTask,
    Customer,
    Database,
    Delivery,
    MessageLog,
    Ticket,
    TicketEvent,
)

__all__ = ["BenchRow", "render_markdown", "run_all", "seed"]

_CHUNK = 5000
_INTENTS = ("complaint", "inquiry", "faq.delivery_time", "faq.refund", "feedback", None)
_TIERS = ("gold", "silver", "regular", "regular", "regular")


@dataclass(frozen=True, slots=True)
class BenchRow:
    what: str
    tickets: int
    seconds: float
    cpu_seconds: float
    rss_mb: float


def _table(model: Any) -> Any:
    return model.__table__


async def _insert(database: Database, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _CHUNK):
        async with database.transaction() as session:
            await session.execute(insert(_table(model)), rows[start : start + _CHUNK])


async def seed(url: str, tickets: int, until: datetime, *, days: int = 30) -> None:
    """``tickets`` tickets over the ``days`` before ``until`` and as many before that (the
    previous period), three customer messages and two replies each, CSAT on half."""
    rng = random.Random(16)
    database = Database(url)
    await database.upgrade()
    customers = max(1, tickets // 2)
    now = until
    await _insert(database, Customer, [
        {"id": i + 1, "telegram_id": 10_000_000 + i, "first_name": f"c{i}",
         "tier": _TIERS[i % len(_TIERS)], "opt_outs": '["holiday"]' if i % 50 == 0 else "[]",
         "blocked": i % 97 == 0, "created_at": now, "updated_at": now}
        for i in range(customers)
    ])  # fmt: skip
    span = timedelta(days=2 * days).total_seconds()
    ticket_rows: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for i in range(tickets * 2):
        created = until - timedelta(seconds=rng.random() * span)
        customer = rng.randrange(customers) + 1
        answered = created + timedelta(minutes=rng.expovariate(1 / 40)) if i % 10 else None
        resolved = created + timedelta(hours=rng.expovariate(1 / 20)) if i % 4 else None
        ticket_rows.append({
            "id": i + 1, "number": f"B-{i:08d}", "kind": ("complaint", "inquiry")[i % 2],
            "status": "resolved" if resolved else "open", "priority": "normal",
            "customer_id": customer, "subject": "...", "assignee_id": 500 + i % 12,
            "created_at": created, "updated_at": created,
            "first_response_due": created + timedelta(minutes=30),
            "resolution_due": created + timedelta(hours=24),
            "first_responded_at": answered, "resolved_at": resolved,
            "csat_score": rng.randint(1, 5) if resolved and i % 2 else None,
            "csat_comment": "很好" if resolved and i % 20 == 1 else None,
        })  # fmt: skip
        for k in range(3):
            messages.append({
                "customer_id": customer, "ticket_id": i + 1, "direction": "in",
                "content_type": "text", "text": "...", "intent": _INTENTS[(i + k) % 6],
                "score": 60.0, "created_at": created + timedelta(minutes=k),
            })  # fmt: skip
        for k in range(2):
            messages.append({
                "customer_id": customer, "ticket_id": i + 1, "direction": "out",
                "content_type": "text", "text": "...", "intent": None, "score": None,
                "created_at": created + timedelta(minutes=k),
            })  # fmt: skip
        events.append({"ticket_id": i + 1, "kind": "take", "actor_id": 500 + i % 12,
                       "actor_name": f"staff {i % 12}", "created_at": created})  # fmt: skip
        if i % 25 == 0:
            events.append({"ticket_id": i + 1, "kind": "reopen", "actor_id": 500 + i % 12,
                           "actor_name": f"staff {i % 12}", "created_at": created})  # fmt: skip
    await _insert(database, Ticket, ticket_rows)
    await _insert(database, MessageLog, messages)
    await _insert(database, TicketEvent, events)
    window = until - timedelta(days=3)
    await _insert(database, Campaign, [{
        "id": 1, "name": "bench", "occasion": "bench", "category": "holiday", "audience": "{}",
        "window_start": window, "window_end": window + timedelta(hours=12), "status": "done",
        "paid_broadcast": False, "created_by": "bench", "created_at": window, "updated_at": window,
    }])  # fmt: skip
    statuses = ("sent", "sent", "sent", "failed", "blocked", "skipped", "pending")
    await _insert(database, Delivery, [
        {"campaign_id": 1, "customer_id": c + 1, "chat_id": 10_000_000 + c,
         "tier": _TIERS[c % len(_TIERS)], "status": statuses[c % len(statuses)], "attempts": 1,
         "error": "skipped: opted out" if c % len(statuses) == 5 else None,
         "created_at": window, "updated_at": window}
        for c in range(customers)
    ])  # fmt: skip
    await _insert(database, CareTask, [
        {"campaign_id": 1, "customer_id": c + 1, "kind": "personal_call", "occasion": "bench",
         "status": "done" if c % 3 else "open", "created_at": window,
         "done_at": window if c % 3 else None}
        for c in range(0, customers, 5)
    ])  # fmt: skip
    await database.dispose()


# A tiny launcher runs the command and reports its child's rusage: measured from this
# process, a forked child would count the parent's pages (the seeding's lists) as its own.
_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, timeout=1200)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(u.ru_maxrss, u.ru_utime + u.ru_stime)\n"
)


def _run_cli(url: str, args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one `carebot report` process."""
    env = {**os.environ, "DATABASE_URL": url}
    carebot = str(Path(sys.executable).with_name("carebot"))
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, carebot, "report", *args],
        env=env, check=True, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak_kb, cpu = done.stdout.split()
    return seconds, float(cpu), int(peak_kb) / 1024


def run_all(tickets: int, log: Callable[[str], None]) -> list[BenchRow]:
    until = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'report.db'}"
        log(f"seeding {tickets:,} tickets in the period (+{tickets:,} before it)...")
        started = time.perf_counter()
        asyncio.run(seed(url, tickets, until))
        log(f"seeded in {time.perf_counter() - started:.1f} s")
        rows = []
        for what, args in (
            ("`report --json` (30 days vs previous 30)", ["--since", "30d", "--json"]),
            ("`report --html` (+ 5 charts)", ["--since", "30d", "--html", f"{folder}/r.html"]),
        ):
            seconds, cpu, rss = _run_cli(url, args)
            log(f"{what}: {seconds:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB")
            rows.append(BenchRow(what, tickets, seconds, cpu, rss))
    return rows


def render_markdown(rows: list[BenchRow], intro: str) -> str:
    load = os.getloadavg()[0]
    lines = [
        intro,
        "",
        f"Load average {load:.1f} on {os.cpu_count()} cores when the runs ended: wall time "
        "stretches with other work on the machine, CPU time (user + system) much less (on a "
        "busy machine shared caches still inflate it: compare rows measured side by side).",
        "",
        "| run | tickets in period | wall time (s) | CPU time (s) | peak RSS (MB) | target |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ok = row.seconds <= 5 and row.rss_mb <= 300
        lines.append(
            f"| {row.what} | {row.tickets:,} | {row.seconds:.2f} | {row.cpu_seconds:.2f} | "
            f"{row.rss_mb:.0f} | {'met' if ok else 'MISSED'} (<= 5 s, <= 300 MB) |"
        )
    return "\n".join(lines)
