"""`carebot report`: the managers' report for a period, beside the period before it.

Text table on stdout by default; ``--json`` prints the one JSON object (keys in README.md,
"Reports"); ``--html FILE`` writes the self-contained page with charts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from care.cli.common import fail, settings_or_exit
from care.reports.figures import TIERS, ReportInput, build_report, intent_kinds
from care.reports.period import PeriodError, parse_period
from care.runtime.settings import Settings
from storage import Database

__all__ = ["collect", "report"]


class _Later(Mapping[str, str]):
    """A mapping still being read on a side thread: the first lookup waits for it."""

    def __init__(self, future: Future[dict[str, str]]) -> None:
        self._future = future

    def __getitem__(self, key: str) -> str:
        return self._future.result()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._future.result())

    def __len__(self) -> int:
        return len(self._future.result())


async def collect(settings: Settings, inp: ReportInput) -> dict[str, Any]:
    """Open the database read-only and build the report."""
    database = Database(settings.database_url)
    try:
        await database.upgrade()
        return await build_report(database, inp)
    finally:
        await database.dispose()


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif not isinstance(value, list):
        out[prefix] = value


def _table(report: dict[str, Any]) -> str:
    """Every scalar figure: key, this period, the previous one."""
    current: dict[str, Any] = {}
    previous: dict[str, Any] = {}
    _flatten("", report["current"], current)
    _flatten("", report["previous"], previous)
    period, before = report["period"], report["previous_period"]
    width = max(len(key) for key in current)
    lines = [
        f"{'':<{width}}  {period['first_day']}..{period['last_day']}  "
        f"{before['first_day']}..{before['last_day']}"
    ]
    for key, value in current.items():
        shown = "-" if value is None else value
        was = previous.get(key)
        lines.append(f"{key:<{width}}  {shown!s:>22}  {'-' if was is None else was!s:>22}")
    return "\n".join(lines)


def report(
    since: str | None = typer.Option(
        None, "--since", help="First day (2026-11-01) or a length (30d, the default)."
    ),
    until: str | None = typer.Option(None, "--until", help="Last day, inclusive (default today)."),
    tier: str | None = typer.Option(None, "--tier", help="Only customers of this tier."),
    html: Path | None = typer.Option(None, "--html", help="Write the HTML report to this file."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
    language: str | None = typer.Option(
        None, "--language", help="Of the HTML page: zh-Hans, zh-Hant or en (default: staff's)."
    ),
) -> None:
    """Volume, complaints, tickets and SLA, staff, CSAT, loyalty and campaigns."""
    settings = settings_or_exit(existing_database=True)
    if tier is not None and tier not in TIERS:
        fail(f"--tier: one of {', '.join(TIERS)}, not {tier!r}")
    now = datetime.now(UTC)
    try:
        period = parse_period(
            since, until, settings.zone, today=now.astimezone(settings.zone).date()
        )
    except PeriodError as exc:
        fail(str(exc))
    lang = language or settings.staff.language or settings.default_language
    if html is not None and lang not in ("zh-Hans", "zh-Hant", "en"):
        fail(f"--language: zh-Hans, zh-Hant or en, not {lang!r}")
    # Reading the intent catalog (and importing the intents package) is Python work; the first
    # queries meanwhile run inside SQLite, off the GIL. The figures look the kinds up only after
    # their first queries have returned.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report") as side:
        kinds = side.submit(intent_kinds, settings)
        inp = ReportInput(settings, period, now, tier=tier, intent_kinds=_Later(kinds))
        data = asyncio.run(collect(settings, inp))
    if html is not None:
        from care.reports.page import render_page  # matplotlib loads only when asked for
        from care.reports.texts import load_texts

        # By now the side thread and the database's threads are gone: safe to fork.
        page = render_page(data, load_texts(settings, lang), fork=True)
        html.write_text(page, encoding="utf-8")
        typer.secho(f"wrote {html}", err=True)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif html is None:
        typer.echo(_table(data))
